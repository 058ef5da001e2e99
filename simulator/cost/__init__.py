"""Cost models: pure functions of (op, device spec, numerics) -> :class:`OpCost`. No clock, no SimPy."""
