"""Many devices, pure (no SimPy): the parallel layout of a model (``layout``: data, tensor,
pipeline and expert parallelism, how each op is split) and the per-stage work lists a cluster run
plays (``plan``)."""
