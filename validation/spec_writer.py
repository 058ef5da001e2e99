"""Writing fitted values into the spec files: a hardware spec's ``efficiency:`` block and energy per
FLOP (capped by the power headroom), a stack file's fitted fields (``python -m validation.calibrate --apply``)."""
from __future__ import annotations

import re
from pathlib import Path

# share of the headroom the arithmetic may take at matrix peak (the rest: memory traffic, links)
PEAK_POWER_SHARE = 0.95


def energy_cap(name: str, scale: float) -> tuple[float, float]:
    """(scale to apply, peak-power ratio at the fitted scale) for ``name``.

    The hardware library's convention is that running the matrix peak at any precision needs at
    most the power headroom (TDP - idle - active); PEAK_POWER_SHARE of it is left to the arithmetic. The fitted scale is applied up to that bound; the ratio
    says how far the fit wanted to go beyond it (> 1: the device would throttle at peak).
    """
    from simulator.cost.peaks import matrix_flops_per_s
    from simulator.spec.loader import load_hardware

    hw = load_hardware(name)
    headroom = hw.power.tdp_w - hw.power.idle_w - hw.power.active_w
    ratio = max((e * scale * 1e-12 * matrix_flops_per_s(hw, prec) / headroom
                 for prec, e in hw.power.energy_pj_per_flop.items()), default=0.0)
    applied = scale if ratio <= PEAK_POWER_SHARE else scale * PEAK_POWER_SHARE / ratio
    return round(applied, 3), round(ratio, 2)


def apply_energy(path: Path, scale: float, fitted_to: list[str], *, fitted: float | None = None) -> None:
    """Scale the flow mapping on the ``energy_pj_per_flop:`` line and note the fit in power.source."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^(\s*energy_pj_per_flop:\s*)\{([^}]*)\}", text, re.M)
    if not m:
        return
    items = []
    for part in m.group(2).split(","):
        k, v = part.split(":")
        items.append(f"{k.strip()}: {round(float(v) * scale, 3)}")
    text = text[: m.start()] + m.group(1) + "{" + ", ".join(items) + "}" + text[m.end():]
    src = re.compile(r'^(  source: ".*)"\s*$', re.M).search(text, m.start())
    capped = f" (fit wanted x {fitted}; capped so peak-rate dynamic power stays within TDP - idle - active)" \
        if fitted and fitted != scale else ""
    note = (f"; energy_pj_per_flop = previous estimate x {scale}, validation.calibrate on {', '.join(fitted_to)}: "
            f"max-achievable GEMM at the power limit / measured power{capped}")
    if src:
        text = text[: src.end(1)] + note + '"' + text[src.end():]
    path.write_text(text, encoding="utf-8")


# GPU tile fill (efficiency.tile_fill_k) is not refitted by this module: it was chosen on a grid
TILE_FILL_NOTE = ("; tile_fill_k 256: the best of 128/256/384 on the nvidia-datacenter fit split (GPU fit median "
                  "9.6/6.7/8.6 %), shared by every GPU family")


def _set_line(text: str, key: str, line: str, after: str | None = None) -> str:
    """``text`` with its top-level ``key:`` line replaced by ``line``; absent, ``line`` goes after the
    ``after:`` line, else at the end."""
    pattern = rf"^{key}: .*$"
    if re.search(pattern, text, flags=re.M):
        return re.sub(pattern, lambda _: line, text, flags=re.M)
    if after and re.search(rf"^{after}: .*$", text, flags=re.M):
        return re.sub(rf"^({after}: .*)$", lambda m: m.group(1) + "\n" + line, text, count=1, flags=re.M)
    return text.rstrip("\n") + "\n" + line + "\n"


def apply_stack(path: Path, fit: dict, key: str = "host_dispatch_us") -> None:
    """Write a fitted stack field (``host_dispatch_us``, or a stream stack's ``kernel_overhead_us``)
    and the rows it was fitted to into one stack file."""
    text = path.read_text(encoding="utf-8")
    text = _set_line(text, key, f"{key}: {fit[key]}", after="host_dispatch_us")
    note = f'fitted_to: "validation.calibrate {key}: {", ".join(fit["fitted_to"])}"'
    path.write_text(_set_line(text, "fitted_to", note), encoding="utf-8")


def apply_stack_gap(path: Path, fit: dict) -> None:
    """Write a fitted ``kernel_overhead_us`` and its ``fitted_to`` into one stack file."""
    apply_stack(path, fit, "kernel_overhead_us")


def efficiency_block(params: dict, fitted_to: dict, family: str) -> str:
    """YAML text of an ``efficiency:`` block."""
    ids = "; ".join(f"{k} <- {', '.join(v)}" for k, v in fitted_to.items())
    lines = ["efficiency:"]
    for key in ("compute", "vector", "memory", "op_overhead_us", "request_overhead_us", "collective_compute_share",
                "tile_fill_k", "min_kernel_cycles"):
        # a per-request time only families that run one program per request fit, a collectives' compute
        # share only families with multi-chip training rows; elsewhere each stays at the schema's 0, unwritten
        if key in params and not (key in ("request_overhead_us", "collective_compute_share") and not params[key]):
            lines.append(f"  {key}: {params[key]}")
    tile = TILE_FILL_NOTE if "tile_fill_k" in params else ""
    lines.append(f'  fitted_to: "validation.calibrate, family {family}, every expressible row of validation/data/'
                 f'*.csv: {ids}{tile}"')
    return "\n".join(lines) + "\n"


def apply_block(path: Path, block: str) -> None:
    """Replace (or append) the top-level ``efficiency:`` block of one YAML file (nothing else changes)."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^efficiency:\n(?:[ \t]+.*\n?)*", text, re.M)
    if m:
        text = text[: m.start()] + block + text[m.end():]
    else:
        text = text.rstrip("\n") + "\n" + block
    path.write_text(text, encoding="utf-8")

