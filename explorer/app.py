"""accsim explorer: the Streamlit face of the simulator (``make app`` or ``accsim app``, which run this
file with ``streamlit run``; the repository's ``app.py`` is a shim that runs it too).

Pages (``st.navigation`` over page functions): Simulate / compare (default), What-if, Workload,
Scale-out, LLM generation, Serving, Sweep, Devices (prices, custom devices) and Accuracy (the
published rows behind every result's uncertainty band).
The sidebar holds the scenario every page shares: workload (zoo or an uploaded .onnx/.yaml/.csv),
mode, batch size, sequence length, image size, precision, optimizer, software stack, device and cost
basis; at its foot, the share box: this page's URL, the scenario as JSON (download and upload) and a
one-page HTML report.

The code lives in the ``explorer`` package; this file registers the pages and runs the share box.
It calls only the public API (``import simulator as sim``).
"""
from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # a checkout run without PYTHONPATH
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st

from explorer import report, share
from explorer.charts import power_series, roofline_figure
from explorer.format import fmt_time, fmt_usd, per_million
from explorer.pages.accuracy import page_accuracy
from explorer.pages.devices import page_devices
from explorer.pages.generation import page_generate
from explorer.pages.scaleout import page_scaleout
from explorer.pages.serving import page_serve
from explorer.pages.simulate import page_simulate
from explorer.pages.sweep import page_sweep
from explorer.pages.whatif import page_whatif, whatif_overrides
from explorer.pages.workload import page_workload
from explorer.state import MAX_UPLOAD_BYTES, Scenario, UploadError, load_upload, overrides_key, sidebar

# main, plus helpers re-exported for callers that import them from app.py (tests/app/test_app.py)
__all__ = ["MAX_UPLOAD_BYTES", "UploadError", "fmt_time", "fmt_usd", "load_upload", "main", "overrides_key",
           "per_million", "power_series", "roofline_figure", "whatif_overrides"]

# headline numbers carry their band, "48.3 ms (33.9-68.9)": let them wrap rather than end in an ellipsis
CSS = """<style>
[data-testid="stMetricValue"] {font-size: 1.75rem;}
[data-testid="stMetricValue"] .stMarkdownEllipsis, [data-testid="stMetricValue"] p
  {white-space: normal; overflow: visible; text-overflow: clip; line-height: 1.2;}
</style>"""


@st.cache_resource(show_spinner=False)
def favicon() -> bytes:
    """A 32 px PNG drawn here: the favicon never comes from outside (a page icon would be fetched from Google)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, 31, 31), radius=7, fill=(255, 75, 75, 255))
    for i, h in enumerate((10, 17, 24)):  # three bars: a chart
        d.rectangle((6 + i * 8, 27 - h, 11 + i * 8, 27), fill=(255, 255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _load_scenario() -> None:
    f = st.session_state.get("scenario_file")
    if f is None:
        return
    try:
        st.session_state["_goto"] = share.load_scenario(f.getvalue())
        st.session_state["_scenario_msg"] = ("success", f"Loaded {f.name}.")
    except ValueError as exc:
        st.session_state["_scenario_msg"] = ("error", f"{f.name}: {exc}")


def _share_box(box, page: str, title: str, sc: Scenario | None) -> None:
    """The sidebar's foot: this page's URL, scenario JSON out and in, the HTML report."""
    with box.expander("Share and save", expanded=False):
        params = {k: share._encode(v) for k, v in share.current_values().items()}
        base = (st.context.url or "").split("?")[0]
        st.caption("This page with every setting: copy the URL from the address bar, or this one.")
        st.code(base + ("?" + urlencode(params, doseq=True) if params else ""), language=None, wrap_lines=True)
        c = st.columns(2)
        c[0].download_button("Scenario JSON", share.scenario_json(page).encode(), f"accsim-{page}.json",
                             "application/json", key="dl_scenario")
        c[1].download_button("Report (HTML)", report.html_report(title, sc.label if sc else "").encode(),
                             f"accsim-{page}-report.html", "text/html", key="dl_report",
                             help="One page: the headline numbers and tables shown, with their bands and sources")
        st.file_uploader("Load a scenario JSON", type=["json"], key="scenario_file", on_change=_load_scenario)
        msg = st.session_state.pop("_scenario_msg", None)
        if msg:
            (st.success if msg[0] == "success" else st.error)(msg[1])


def main() -> None:
    """Set up the page, draw the sidebar, run the page chosen in the navigation, then the share box."""
    st.set_page_config(page_title="accsim explorer", layout="wide", page_icon=favicon())
    share.start_run()
    report.start_run()
    st.html(CSS)
    sc = sidebar()
    box = st.sidebar.container()

    def needs(fn: Callable[[Scenario], None]) -> Callable[[], None]:
        def page() -> None:
            if sc is None:
                st.title("accsim")
                st.info("Choose a workload in the sidebar (the upload was not usable).")
                return
            fn(sc)

        return page

    specs = [(needs(page_simulate), "Simulate / compare", ":material/speed:", "simulate"),
             (needs(page_whatif), "What-if", ":material/tune:", "what-if"),
             (needs(page_workload), "Workload", ":material/account_tree:", "workload"),
             (needs(page_scaleout), "Scale-out", ":material/lan:", "scale-out"),
             (needs(page_generate), "LLM generation", ":material/chat:", "generate"),
             (needs(page_serve), "Serving", ":material/dns:", "serve"),
             (needs(page_sweep), "Sweep", ":material/grid_on:", "sweep"),
             (page_devices, "Devices", ":material/memory:", "devices"),
             (page_accuracy, "Accuracy", ":material/verified:", "accuracy")]
    pages = {path: st.Page(fn, title=title, icon=icon, url_path=path, default=path == "simulate")
             for fn, title, icon, path in specs}
    nav = st.navigation(list(pages.values()))
    goto = st.session_state.pop("_goto", None)
    if goto in pages and pages[goto] is not nav:
        st.switch_page(pages[goto])
    st.set_page_config(page_icon=favicon())  # after st.navigation, which would make the page's icon the favicon
    nav.run()
    _share_box(box, nav.url_path or "simulate", nav.title, sc)
    share.publish()


if __name__ == "__main__":  # streamlit runs the script as __main__; tests import the helpers
    main()
