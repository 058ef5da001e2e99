"""Hardware specs: validated, frozen data models and the YAML loader."""
