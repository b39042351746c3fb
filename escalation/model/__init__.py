"""The Mesa model: ``model.py`` holds the daily step order, the agents live beside it
(``agents.py``), and ``events.py`` applies the scenario's timeline.

Imports only :mod:`escalation.scenario`."""
