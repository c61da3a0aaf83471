"""The ``scalpmetrics`` command-line interface (installed as ``scalpmetrics_cli``)."""
