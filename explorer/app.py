"""accsim explorer: the Streamlit face of the simulator (``make app`` or ``accsim app``, which run this
file with ``streamlit run``; the repository's ``app.py`` is a shim that runs it too).

Pages (``st.navigation`` over page functions): Simulate / compare (default), What-if, Workload,
Scale-out, LLM generation, Serving and Sweep when ``simulator`` offers ``generate``, ``serve`` and ``sweep``, and
Accuracy (the published rows behind every result's uncertainty band).
The sidebar holds the scenario every page shares: workload (zoo or an uploaded .onnx/.yaml/.csv),
mode, batch size, sequence length, image size, precision, optimizer and the device.

The code lives in the ``explorer`` package (state, charts, views and one module per page); this file
only registers the pages. It calls only the public API (``import simulator as sim``).
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # a checkout run without PYTHONPATH
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st

from explorer.charts import power_series, roofline_figure
from explorer.format import cost_per_step, fmt_time, fmt_usd
from explorer.pages.accuracy import page_accuracy
from explorer.pages.generation import page_generate
from explorer.pages.scaleout import page_scaleout
from explorer.pages.serving import page_serve
from explorer.pages.simulate import page_simulate
from explorer.pages.sweep import page_sweep
from explorer.pages.whatif import page_whatif, whatif_overrides
from explorer.pages.workload import page_workload
from explorer.state import MAX_UPLOAD_BYTES, Scenario, UploadError, load_upload, overrides_key, sidebar

# main, plus helpers re-exported for callers that import them from app.py (tests/app/test_app.py)
__all__ = ["MAX_UPLOAD_BYTES", "UploadError", "cost_per_step", "fmt_time", "fmt_usd", "load_upload", "main",
           "overrides_key", "power_series", "roofline_figure", "whatif_overrides"]


def main() -> None:
    """Set up the page, draw the sidebar and run the page chosen in the navigation."""
    st.set_page_config(page_title="accsim explorer", layout="wide")
    sc = sidebar()

    def needs(fn: Callable[[Scenario], None]) -> Callable[[], None]:
        def page() -> None:
            if sc is None:
                st.title("accsim")
                st.info("Choose a workload in the sidebar (the upload was not usable).")
                return
            fn(sc)

        return page

    pages = [st.Page(needs(page_simulate), title="Simulate / compare", icon=":material/speed:", url_path="simulate",
                     default=True),
             st.Page(needs(page_whatif), title="What-if", icon=":material/tune:", url_path="what-if"),
             st.Page(needs(page_workload), title="Workload", icon=":material/account_tree:", url_path="workload")]
    pages.append(st.Page(needs(page_scaleout), title="Scale-out", icon=":material/lan:", url_path="scale-out"))
    pages.append(st.Page(needs(page_generate), title="LLM generation", icon=":material/chat:", url_path="generate"))
    pages.append(st.Page(needs(page_serve), title="Serving", icon=":material/dns:", url_path="serve"))
    pages.append(st.Page(needs(page_sweep), title="Sweep", icon=":material/grid_on:", url_path="sweep"))
    pages.append(st.Page(page_accuracy, title="Accuracy", icon=":material/verified:", url_path="accuracy"))
    st.navigation(pages).run()


if __name__ == "__main__":  # streamlit runs the script as __main__; tests import the helpers
    main()
