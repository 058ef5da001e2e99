"""accsim explorer (``make app`` = ``streamlit run app.py``): the code is ``explorer/app.py``, which an
installed wheel runs with ``accsim app``. This file only makes the checkout's ``explorer`` importable,
re-exports its helpers (tests/app/test_app.py imports them from here) and runs it.
"""
from __future__ import annotations

import sys
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:  # `explorer` sits next to this file
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from explorer.app import *  # noqa: E402,F401,F403 - the helpers tests import from app.py
from explorer.app import __all__, main  # noqa: E402,F401

if __name__ == "__main__":  # streamlit runs the script as __main__; tests import the helpers
    main()
