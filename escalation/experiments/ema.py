"""The model as EMA Workbench wants it: a function of keyword parameters that returns a dict of
outcomes, which ``Model(name, function=...)`` takes as it is.

EMA names parameters with Python identifiers, and scenario keys have dots, so a parameter's
name is its key path with ``__`` for each dot (``us__doctrine__severity`` sets
``us.doctrine.severity``); a name with dots is taken as the key path itself (the function also
takes ``**{"us.doctrine.severity": 2.0}``), and ``names`` maps any other name to a key path
(for keys that are no identifiers even so, such as a brand with spaces in its name). ``seed``
is the run's seed: fixed by default, so every experiment runs on the same seed (common random
numbers), or given per replication through EMA's ``ReplicatorModel``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from escalation.experiments.runner import run
from escalation.scenario import schema as C
from escalation.scenario.loading import load_scenario, with_overrides

#: Fields of a run's summary that say which run it was, not what happened.
_NOT_OUTCOMES = ("scenario", "run", "seed")


def key_path(name: str, names: Mapping[str, str] | None = None) -> str:
    """The scenario key path a parameter name stands for: ``names[name]`` if given, the name
    itself if it has dots, else the name with each ``__`` read as a dot."""
    if names and name in names:
        return names[name]
    return name if "." in name else name.replace("__", ".")


class OutcomeFunction:
    """One run of a scenario: scenario values in as keyword parameters, outcomes out."""

    def __init__(
        self,
        scenario: C.Scenario | str | Path,
        seed: int = 0,
        names: Mapping[str, str] | None = None,
    ) -> None:
        self.scenario = scenario if isinstance(scenario, C.Scenario) else Path(scenario)
        self.seed = seed
        self.names = dict(names or {})
        self._loaded: C.Scenario | None = None

    def __getstate__(self) -> dict[str, Any]:  # a worker loads the file again
        return {**self.__dict__, "_loaded": None}

    def base(self) -> C.Scenario:
        """The scenario before the parameters are applied (a file is read once)."""
        if self._loaded is None:
            scenario = self.scenario
            self._loaded = scenario if isinstance(scenario, C.Scenario) else load_scenario(scenario)
        return self._loaded

    def __call__(self, seed: int | None = None, **values: Any) -> dict[str, Any]:
        """Run the scenario with ``values`` (see :func:`key_path`) on ``seed`` (default: the
        function's) and return every outcome of the run by name."""
        overrides = {key_path(name, self.names): value for name, value in values.items()}
        scenario = with_overrides(self.base(), overrides) if overrides else self.base()
        result = run(scenario, self.seed if seed is None else int(seed), tables=False)
        return {k: v for k, v in result.summary.items() if k not in _NOT_OUTCOMES}


def outcome_function(
    scenario: C.Scenario | str | Path,
    *,
    seed: int = 0,
    names: Mapping[str, str] | None = None,
) -> OutcomeFunction:
    """The function EMA Workbench's ``Model(name, function=...)`` takes: keyword parameters
    named by scenario key path (``us__doctrine__severity``, or ``names``), a dict of the run's
    outcomes (``attacks_on_us``, ``spiral``... as a sweep's run table names them) back.

    ``scenario`` is a scenario file or a loaded scenario; ``seed`` the run seed of every call
    that does not pass its own ``seed``. The function can be pickled, so EMA's process pool can
    run it.
    """
    return OutcomeFunction(scenario, seed, names)
