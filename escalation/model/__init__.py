"""The Mesa model: ``model.py`` holds the daily step order, the agents live beside it
(``militia.py``, ``iran.py``, ``us_forces.py``, ``iraqi_government.py``, with the helpers they
share in ``decisions.py``), and ``events.py`` applies the scenario's timeline.

Imports only :mod:`escalation.scenario`."""
