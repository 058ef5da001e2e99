"""The throughput a pool of identical servers sustains under Poisson arrivals and a p99 latency bound
(MLPerf's Server scenario): the highest arrival rate at which the 99th percentile of service + queueing
time stays within the bound.

Queueing follows M/M/c (Erlang C): P(wait > t) = C(c, A) exp(-(c mu - lambda) t). Service is
deterministic here (a batch takes the simulated step time every time), and the Allen-Cunneen
approximation halves M/M/c waits for deterministic service ((c_a^2 + c_s^2) / 2 with c_a^2 = 1, c_s^2 = 0).

One queue for all servers, because that is what the submitters' harnesses do: Intel's CPU RetinaNet Server
SUT (mlcommons/inference_results_v4.1@198fc467 closed/Intel/code/retinanet/pytorch-cpu/src/sut.cpp,
``SUTServer``) has one batcher thread push batches of BATCH_SIZE (1 in run_server.sh) onto a single FIFO that
every instance thread pops when idle. Round-robin to per-instance queues (c x M/D/1) would allow about an
eighth of the rate at RetinaNet's 100 ms bound, far below Intel's measured Server results. Against an exact
M/D/c simulation the approximation's rate is within 1 % at 14-32 servers and the RetinaNet Server load; for
one server it is conservative (p99 wait about half a service time long, tests/unit/test_cpu_rows.py).
"""
from __future__ import annotations

import math

P99_TAIL = 0.01
DETERMINISTIC_SERVICE = 0.5  # Allen-Cunneen: (1 + 0) / 2 of the M/M/c wait
INFEASIBLE_SHARE = 1e-3      # share of capacity predicted when one batch alone exceeds the bound


def erlang_c(servers: int, load: float) -> float:
    """Probability that an arrival waits, for ``servers`` servers offered ``load`` Erlangs (< servers).

    Example:
        >>> round(erlang_c(1, 0.5), 3), round(erlang_c(2, 1.0), 4)          # M/M/1: rho; M/M/2 at rho 0.5
        (0.5, 0.3333)
    """
    b = 1.0
    for k in range(1, servers + 1):  # Erlang B by its recurrence, stable for hundreds of servers
        b = load * b / (k + load * b)
    return servers * b / (servers - load * (1.0 - b))


def p99_latency_s(rate: float, servers: int, service_s: float) -> float:
    """99th-percentile sojourn time (s) of jobs arriving at ``rate`` per s at ``servers`` servers that
    each take ``service_s``; infinite at or above capacity.

    Example:
        >>> # C(4, 1) = 0.0204 (Erlang B 0.0154); p99 wait ln(2.04) / (4 - 1) = 0.238 s, halved
        >>> round(p99_latency_s(1.0, 4, 1.0), 3)
        1.119
    """
    capacity = servers / service_s
    if rate >= capacity:
        return math.inf
    c = erlang_c(servers, rate * service_s)
    wait = max(0.0, math.log(c / P99_TAIL) / (capacity - rate)) if c > P99_TAIL else 0.0
    return service_s + DETERMINISTIC_SERVICE * wait


def max_rate_under_p99(servers: int, service_s: float, bound_s: float) -> float:
    """Highest job arrival rate (per s) whose p99 latency stays within ``bound_s``, by bisection.

    A job that alone takes longer than the bound can never meet it: the rate is then
    :data:`INFEASIBLE_SHARE` of the capacity, a prediction that scores as the miss it is (and keeps
    a calibration trial that slows the device from dropping the row).

    Example:
        >>> cap = 64 / 0.010                                   # 64 servers of 10 ms
        >>> round(max_rate_under_p99(64, 0.010, 0.015) / cap, 2)   # utilisation the 15 ms bound allows
        0.94
    """
    if service_s >= bound_s:
        return INFEASIBLE_SHARE * servers / service_s
    lo, hi = 0.0, servers / service_s
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if p99_latency_s(mid, servers, service_s) <= bound_s else (lo, mid)
    return lo
