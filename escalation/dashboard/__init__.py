"""The interactive page: a local server that runs scenario ensembles and draws their tempo.

``escalation dashboard`` serves a page on this machine (127.0.0.1 unless told otherwise) where one
chooses a scenario, moves the main deterrence and incentive settings and runs an ensemble, then
sees its monthly tempo against the historical record, one run's event log and the paired
difference from the unmodified scenario. The top layer: it uses the scenario, experiments,
observe, record and viz layers and nothing above them (not the command line).

Modules:

- ``controls``: the settings the page offers, generated from the scenario schema (help, choices,
  bounds and defaults are the schema's own).
- ``library``: the scenario files offered, and run requests validated into settings.
- ``results``: the tempo chart's data, headline cards, event log and differences the page shows,
  and the PNG figure offered for download.
- ``jobs``: the background worker that runs one ensemble at a time, and each browser tab's
  state: its run's progress, its latest result and that result's downloads.
- ``server``: the HTTP handler, the page's static files (``static/``: the page, ``app.js``, and
  ``tempo.js`` which draws the tempo chart as SVG) and :func:`serve`.
"""
