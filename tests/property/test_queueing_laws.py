"""Laws of the latency-bounded server rate (validation.queueing): more load never lowers the p99; a
slower service, a tighter bound or fewer servers never raise the rate the bound allows."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from validation.queueing import max_rate_under_p99, p99_latency_s

SERVERS = st.integers(min_value=1, max_value=256)
SERVICE = st.floats(min_value=1e-4, max_value=1.0)
SHARE = st.floats(min_value=0.0, max_value=0.999)


@given(SERVERS, SERVICE, SHARE, SHARE)
def test_more_load_never_lowers_p99(servers, service, a, b):
    lo, hi = sorted((a, b))
    capacity = servers / service
    assert p99_latency_s(hi * capacity, servers, service) >= p99_latency_s(lo * capacity, servers, service) - 1e-12


@given(SERVERS, SERVICE, st.floats(min_value=1.0, max_value=10.0), st.floats(min_value=1.0, max_value=2.0))
def test_rate_falls_with_service_time_and_rises_with_bound_and_servers(servers, service, bound_ratio, slower):
    bound = bound_ratio * service * 1.01
    rate = max_rate_under_p99(servers, service, bound)
    assert rate <= servers / service
    assert max_rate_under_p99(servers, service * slower, bound) <= rate * (1 + 1e-9)
    assert max_rate_under_p99(servers, service, bound * slower) >= rate * (1 - 1e-9)
    assert max_rate_under_p99(servers + 1, service, bound) >= rate * (1 - 1e-9)
