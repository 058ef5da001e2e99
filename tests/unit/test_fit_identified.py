"""simulator.fit.identified: a capped loss that is flat at the cap on the whole grid identifies nothing."""
import math

from simulator.fit import ROBUST_CAP, golden, identified, robust_loss


def test_a_row_inside_the_cap_somewhere_identifies_the_parameter():
    # predicted = 100 * x / 0.7 against 100 measured: exact at x = 0.7, inside the cap on [0.2, 1]
    f = lambda x: robust_loss([(100 * x / 0.7, 100.0)])  # noqa: E731
    assert identified(f, 0.2, 1.0) and golden(f, 0.2, 1.0) == 0.7


def test_rows_beyond_the_cap_everywhere_identify_nothing():
    # 10x too slow at the upper bound and slower below it: |ln| >= ln 10 = 2.3 > 0.5 everywhere
    f = lambda x: robust_loss([(10.0 * x, 1000.0), (20.0 * x, 4000.0)])  # noqa: E731
    assert f(1.0) == ROBUST_CAP ** 2 and not identified(f, 0.2, 1.0)
    # golden alone would return its tie-break, the lower bound
    assert golden(f, 0.2, 1.0) == 0.2


def test_a_row_capped_at_both_ends_with_opposite_signs_is_evidence():
    # 300 x^2 against 100: x 0.2 -> ln 0.12 = -2.1, x 1.0 -> ln 3 = +1.1, both beyond the cap, but the
    # row passes through the band in between (exact at x = 1/sqrt(3) = 0.577)
    f = lambda x: robust_loss([(300.0 * x ** 2, 100.0)])  # noqa: E731
    assert f(0.2) == f(1.0) == ROBUST_CAP ** 2
    assert identified(f, 0.2, 1.0)
    assert abs(golden(f, 0.2, 1.0) - 1 / math.sqrt(3)) < 0.002
