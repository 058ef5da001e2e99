"""The runs: where a model copy is placed (``placement``), its graphs (``graphs``), one step on one
device (``device``) or many (``cluster``), both behind ``step``; the host input pipeline
(``host_input``) and the garbage-collector pause every run takes (``gcpause``)."""
