"""The release of accsim (one place: the package, the CLI's --version and the sweep store read it)."""

__version__ = "0.1.0"
