"""The explorer's pages: each module offers one ``page_*(sc: Scenario)`` function for ``st.navigation``."""
