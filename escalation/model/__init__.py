"""The Mesa model of proxy escalation, one module per part.

- ``model.py``: :class:`~escalation.model.model.EscalationModel`, whose ``step()`` writes out
  the daily order of activation (timeline events, Iran, the Iraqi government, the militias in
  shuffled order, US forces, then the memories decay), and the consequences of attacks, strikes
  and truces that involve several actors.
- The agents, beside it: ``militia.py`` (whether, what and under which name to attack; the
  records it decides with are in ``militia_options.py``), ``iran.py`` (the network's line,
  resupply, direct strikes), ``us_forces.py`` (retaliation doctrine, delayed strikes, posture),
  ``iraqi_government.py`` (sovereignty, mediation, crackdowns); ``decisions.py`` holds the
  logit and draw helpers they share.
- ``events.py`` applies the scenario's timeline; ``log.py`` defines the event log's record.

Imports only :mod:`escalation.scenario`."""
