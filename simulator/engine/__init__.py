"""The discrete-event engine: the only code that touches SimPy and the only clock."""
