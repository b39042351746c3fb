"""Figures: simulated tempo against the record, comparisons, sweeps, the record's history.

Imports the layers below; nothing below imports it."""
