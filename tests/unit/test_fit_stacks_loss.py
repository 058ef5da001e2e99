"""The eager host-time fit minimises the shared robust loss (simulator.fit.robust_loss), as every other fit does."""
from __future__ import annotations

from types import SimpleNamespace

from validation.fit_stacks import fit_stacks


def _case(rid: str, measured: float):
    return SimpleNamespace(eager=True, category="latency", stack="torch-eager", family="f",
                           row=SimpleNamespace(id=rid, value=measured))


def _predict(case, extra=None, dispatch_us=None):
    return SimpleNamespace(value=dispatch_us)      # a row whose latency is the host time itself


def test_host_time_is_the_robust_fit_not_the_mean_abs_log_fit_by_hand():
    """Rows measured 30, 40 and 3000 us, each predicted as x. Robust loss: the 3000 row is beyond the
    cap (|ln(35 / 3000)| = 4.4 > 0.5, a constant 0.25) and (ln x - ln 30)^2 + (ln x - ln 40)^2 is least at
    ln x = (ln 30 + ln 40) / 2: x = sqrt(1200) = 34.641. The old mean |log error| was least at the
    log-space median, 40: the far row pulled it."""
    out = fit_stacks([_case("A", 30.0), _case("B", 40.0), _case("C", 3000.0)], {}, _predict)
    assert abs(out["torch-eager"]["host_dispatch_us"] - 34.641) < 0.02     # golden section's 14 steps: 34.651
    assert out["torch-eager"]["fitted_to"] == ["A", "B", "C"]


def test_a_stack_its_rows_cannot_identify_is_left_out():
    """Every row 1000x off whatever the host time (a host the model lacks): the capped loss is flat
    at 0.25, and golden's tie-break (the lower bound) would be written as if fitted; the stack is
    left out instead and keeps its shipped value, while a stack with usable rows is still fitted."""
    def predict(case, extra=None, dispatch_us=None):
        return SimpleNamespace(value=1000.0 * case.row.value if case.stack == "tf-eager" else dispatch_us)

    cases = [SimpleNamespace(**{**vars(_case(r, v)), "stack": s}) for r, v, s in
             (("A", 30.0, "torch-eager"), ("B", 40.0, "torch-eager"), ("C", 50.0, "tf-eager"))]
    out = fit_stacks(cases, {}, predict)
    assert "tf-eager" not in out
    assert abs(out["torch-eager"]["host_dispatch_us"] - 34.641) < 0.02
