"""Fitting the scenario to the record: ABC-SMC (``abc.py``), the calibration file and its
simulator (``fit.py``), the trust-region polish (``trust.py``), and the scored report
(``report.py``, ``calibrate.py``).

Imports the layers below: scenario, model, observe, record, experiments."""
