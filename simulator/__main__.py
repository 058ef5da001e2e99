"""``python -m simulator``: the CLI."""
import os
import sys

from .cli import main

code = main()
# Leave without tearing the interpreter down: freeing a large run's millions of objects can take
# seconds after the answer (or a time-limit error) is printed. Everything the CLI writes is closed by
# now (sweeps close their store and pool before main returns); only the standard streams need a flush.
try:
    sys.stdout.flush()
    sys.stderr.flush()
except (BrokenPipeError, OSError):
    pass
os._exit(code)
