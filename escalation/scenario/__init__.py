"""Scenarios: what a scenario file may say, how it is read, and how its mistakes are reported.

A scenario is validated once, here, into a frozen :class:`~escalation.scenario.schema.Scenario`;
every layer above reads its settings from that object and never re-checks them. This is the
bottom layer: it imports nothing else from the package but :mod:`escalation.errors`.

The schema, each section in a module of its own and read through ``schema``:

- ``schema``: the root ``Scenario`` and the public face of the schema; it names every section
  below, so the rest of the package writes ``from escalation.scenario import schema as C``.
- ``base``: bounded field types (``NonNeg``, ``Prob``...), the named choices (Iran's lines,
  target owners, theatres), the ``Frozen`` base of every block, and ``Motive``.
- ``world``: weapons with their size classes, and target classes, with the built-in sets.
- ``militias``: a militia's incentives and state, its facade brands, truce and claim rules.
- ``iran``: Iran's lines, the weights of its choice, resupply, direct action.
- ``us``: US posture, deterrence doctrine, strike effects, withdrawal, attribution.
- ``iraq``: the Iraqi government in office, sovereignty, mediation, crackdowns.
- ``reporting``: observed series (how a source counts events) and the spiral definition.
- ``timeline``: the dated events, one class per ``type``.

Reading and checking files:

- ``loading``: YAML files, ``extends:`` inheritance, ``--set`` overrides, provenance, and
  errors that name the file, line and key path.
- ``messages``: pydantic's validation errors in plain words.
- ``references``: the checks the schema alone cannot make (names that must exist).
- ``reference``: the generated reference of every key (``escalation schema``).
"""
