"""The chaos experiment (see `experiment.py`); run it with `python scripts/chaos.py`."""
