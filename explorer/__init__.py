"""accsim explorer: the Streamlit app behind ``app.py`` (``make app`` = ``streamlit run app.py``).

Modules:

- :mod:`explorer.format`: number formatting, bottleneck labels and colours (no Streamlit calls).
- :mod:`explorer.state`: the shared :class:`~explorer.state.Scenario` drawn in the sidebar, uploads
  (:func:`~explorer.state.load_upload`), edited specs and the ``st.cache_data``-cached simulator calls.
- :mod:`explorer.charts`: plotly figures (roofline, timeline, memory, power, breakdowns, decode, serving, sweep).
- :mod:`explorer.views`: result views shared by pages (headline metrics, downloads, chart tabs).
- :mod:`explorer.pages`: one module per page, each with a ``page_*(sc)`` function for ``st.navigation``.

The explorer calls only the public API (``import simulator as sim``): a test holds it to that.
"""
