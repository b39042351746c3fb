"""What the sources would have seen: series definitions applied to the event log
(``series.py``), and the periods and per-period metrics runs are summed over (``periods.py``).

Imports :mod:`escalation.scenario` (and the event-log columns of :mod:`escalation.model`)."""
