"""accsim explorer: the Streamlit app behind ``app.py`` (``make app`` = ``streamlit run app.py``).

Modules:

- :mod:`explorer.state`: the sidebar's :class:`~explorer.state.Scenario`, uploads, custom devices.
- :mod:`explorer.calls`: the cached simulator calls; each returns an ``Outcome`` (result or one-line error,
  with a note when a device ran in its native precision instead of the one asked).
- :mod:`explorer.share`: every control created through ``init`` round-trips through the URL and a scenario JSON.
- :mod:`explorer.format`: units, bands as ranges, costs per million, device labels (no Streamlit calls).
- :mod:`explorer.views`: headlines, DOES NOT FIT, comparison tables with CSV, chart tabs, downloads.
- :mod:`explorer.report`: the one-page HTML report of what a page shows.
- :mod:`explorer.llm`, :mod:`explorer.presets`: what the generation and serving pages share.
- :mod:`explorer.charts`: plotly figures.
- :mod:`explorer.pages`: one module per page, each with a ``page_*`` function for ``st.navigation``.

The explorer calls only the public API (``import simulator as sim``): a test holds it to that.
"""
