"""Explorer speed, measured with Streamlit's AppTest (the script run on the server, no browser paint):

* ``cold first paint``: a fresh Python process runs the app once on its defaults (imports of the explorer
  and the simulator, empty caches, every simulation of the default page); target 3 s;
* ``control change``: one widget changed on a default page and the script rerun, each change to a value
  not seen before (no cache hit); p50 / p95 / max per control over ``--repeats`` changes; target 1 s at p95;
* the cases issue 20 named: the power-cap and clock sliders, a 70B generation, tensor parallel 8 on the
  Scale-out page, and GPT-3 175B on 1,024 GPUs (target 3 s).

A browser adds rendering (Plotly, the websocket) on top: tests/app/test_browser.py times its page loads.

Usage::

    python benchmarks/bench_explorer.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
sys.path.insert(0, str(REPO))

COLD = f"""
import sys, time
sys.path.insert(0, {str(REPO)!r})
from streamlit.testing.v1 import AppTest
t = time.perf_counter()
at = AppTest.from_file({APP!r}, default_timeout=300).run()
assert not at.exception and at.metric, [e.value for e in at.exception]
print(time.perf_counter() - t)
"""


def _at(state: dict[str, Any] | None = None, page: str = "") -> Any:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=600)
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.run()
    if page:
        at._page_hash = next(h for h, i in at._registered_pages.items() if i.get("url_pathname") == page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _timed(at: Any, change: Callable[[Any], Any]) -> float:
    change(at)
    t = time.perf_counter()
    at.run()
    wall = time.perf_counter() - t
    assert not at.exception, [e.value for e in at.exception]
    return wall


def _set(kind: str, key: str, value: Any) -> Callable[[Any], Any]:
    return lambda at: getattr(at, kind)(key=key).set_value(value)


# (page, starting state, control, widget kind, values: each new, so every change simulates)
CONTROLS: list[tuple[str, dict, str, str, Callable[[int], Any]]] = [
    ("", {}, "batch_size", "number_input", lambda i: 200 + 7 * i),
    ("", {}, "image_size", "number_input", lambda i: 160 + 16 * i),
    ("", {}, "device", "selectbox", lambda i: ["nvidia-l4", "amd-mi300x", "nvidia-b200", "google-tpu-v4",
                                                "nvidia-h200", "intel-gaudi2", "nvidia-t4", "aws-trainium"][i % 8]),
    ("", {}, "precision", "selectbox", lambda i: ["fp16", "fp32", "fp8", "tf32", "bf16", "int8", "native", "fp16"][i % 8]),
    ("what-if", {}, "s_clock", "slider", lambda i: 0.5 + 0.15 * (i + 1)),
    ("what-if", {}, "s_cap_w", "slider", lambda i: 650.0 - 40 * i),
    ("what-if", {}, "s_bw", "slider", lambda i: 0.6 + 0.2 * i),
    ("generate", {}, "gen_prompt", "number_input", lambda i: 900 + 31 * i),
    ("generate", {}, "gen_batch", "number_input", lambda i: 8 + 3 * i),
    ("generate", {"gen_model": "llama2-70b", "gen_tp": 8}, "gen_out", "number_input", lambda i: 100 + 9 * i),
    ("serve", {}, "srv_rate", "number_input", lambda i: 2.0 + 0.5 * i),
    ("scale-out", {"workload": "gpt2", "seq_len": 512, "batch_size": 64, "so_tp": 8}, "so_micro", "number_input",
     lambda i: 2 + i),
    ("sweep", {}, "sw_batches", "text_input", lambda i: f"{32 + i}, {64 + i}, {128 + i}"),
]

GPT3 = {"workload": "gpt3-175b", "mode": "Training step", "batch_size": 1536, "seq_len": 2048,
        "so_system": "h100-ib-cluster-1024", "so_devices": 1024, "so_tp": 8, "so_pp": 8, "so_micro": 96,
        "so_ckpt": "full"}


def _row(name: str, times: list[float], target: float) -> tuple:
    times = sorted(times)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    verdict = "(no target)" if target == float("inf") else ("ok" if p95 <= target else "SLOW")
    return name, len(times), statistics.median(times), p95, times[-1], target, verdict


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="changes per control (each to a new value)")
    args = ap.parse_args()
    rows = []
    cold = [float(subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True, check=True,
                                 cwd=REPO).stdout.strip().splitlines()[-1]) for _ in range(3)]
    rows.append(_row("cold first paint (default page)", cold, 3.0))
    print(f"  cold first paint: {', '.join(f'{c:.2f}' for c in cold)} s", file=sys.stderr, flush=True)
    for page, state, key, kind, values in CONTROLS:
        at = _at(state, page)
        times = [_timed(at, _set(kind, key, values(i))) for i in range(args.repeats)]
        rows.append(_row(f"{page or 'simulate'}: {key}" + (f" ({state.get('gen_model')})" if 'gen_model' in state
                                                            else ""), times, 1.0))
        print(f"  {rows[-1][0]:36s} p95 {rows[-1][3]:.2f} s", file=sys.stderr, flush=True)
    at = _at({k: v for k, v in GPT3.items() if not k.startswith("so_")})
    for k, v in GPT3.items():
        at.session_state[k] = v
    at._page_hash = next(h for h, i in at._registered_pages.items() if i.get("url_pathname") == "scale-out")
    t = time.perf_counter()
    at.run()
    rows.append(_row("scale-out: GPT-3 175B on 1,024 H100", [time.perf_counter() - t], 3.0))
    assert not at.exception and not at.error, [e.value for e in at.error] + [e.value for e in at.exception]
    at.session_state["so_tabs"] = "Weak scaling"  # on demand, with a progress bar: 5 more cluster runs
    t = time.perf_counter()
    at.run()
    rows.append(_row("  its weak-scaling tab (5 runs, progress bar)", [time.perf_counter() - t], float("inf")))
    print(f"\nExplorer speed ({platform.processor() or platform.machine()}, Python {platform.python_version()}; "
          "AppTest: the server's script run, no browser paint)\n")
    print(f"{'case':44s} {'n':>3s} {'p50 s':>7s} {'p95 s':>7s} {'max s':>7s} {'target':>7s}")
    for name, n, p50, p95, mx, target, verdict in rows:
        goal = "" if target == float("inf") else f"{target:.1f}s"
        print(f"{name:44s} {n:3d} {p50:7.2f} {p95:7.2f} {mx:7.2f} {goal:>7s}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
