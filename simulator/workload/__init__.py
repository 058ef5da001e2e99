"""Workloads: the op vocabulary, graph building and validation, model builders, training graphs."""
