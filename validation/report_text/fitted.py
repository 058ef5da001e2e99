"""REPORT.md's "Fitted parameters" table, read from validation/calibration.json."""
from __future__ import annotations

import json
from pathlib import Path

CALIBRATION = Path(__file__).resolve().parents[1] / "calibration.json"


def calibration_section() -> list[str]:
    try:
        cal = json.loads(CALIBRATION.read_text())
    except (OSError, ValueError):
        return []
    lines = ["## Fitted parameters (`python -m validation.calibrate`, every expressible row)", "",
             "| family | parameter | value | fitted to |", "|---|---|---:|---|"]
    for fam, v in sorted(cal.get("families", {}).items()):
        for k, val in sorted(v.get("params", {}).items()):
            lines.append(f"| {fam} | efficiency.{k} | {val} | {', '.join(v['fitted_to'].get(k, []))} |")
        if v.get("energy"):
            e = v["energy"]
            lines.append(f"| {fam} | energy_pj_per_flop: further scale the fit wants beyond the specs (not applied past"
                         f" the TDP - idle - active cap; applied scales are in each spec's power.source) | x{e['scale']} |"
                         f" {', '.join(e['fitted_to'])} |")
    for stack, d in sorted(cal.get("stacks", {}).items()):
        lines.append(f"| stack {stack} | host_dispatch_us | {d['host_dispatch_us']} | {', '.join(d['fitted_to'])} |")
    return lines + ["", "Energy scales multiply every precision of a spec's `power.energy_pj_per_flop` and are applied"
                    " only up to the hardware library's convention that running the matrix peak needs at most TDP - idle - active"
                    " (`validation.spec_writer.energy_cap`); the capped value and the fitted one are both written in the"
                    " spec's power source. TPU fleet-power rows (M157, M158) are predicted but not used"
                    " to fit energy: they average an unknown workload mix, proxied here by ResNet-50 training.", ""]
