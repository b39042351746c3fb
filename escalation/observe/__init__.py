"""What a run is reported as.

* ``series``: what the sources would have seen, each source's counting rule applied to the event
  log (with the per-run observation streams of :mod:`escalation.seeds`).
* ``outcomes``: the registry of run outcomes, one name and meaning each, used by runs, sweeps,
  comparisons and the page.
* ``periods``: named, dated periods (calendar years, or the record's phases) and the outcomes per
  period that comparisons report.

Imports :mod:`escalation.scenario` and the event-log columns of :mod:`escalation.model`.
"""
