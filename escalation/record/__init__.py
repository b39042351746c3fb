"""The historical record of militia attack tempo, as cited data, and tools to use it.

* :func:`load_record` reads targets.yaml, series.yaml and phases.yaml (every figure with its seed
  passage, definition and honest range); :class:`RecordError` reports malformed input.
* :func:`compute_statistic` / :func:`target_satisfied` evaluate a target on daily counts.
* :func:`reconstruct` builds monthly series from the aggregates (a reconstruction, with a band).
* :func:`load_acled` brings a user's ACLED export in as observed series.

Modules:

* ``types``: the record's frozen dataclasses (Record, Target, Series, Phase, Value, Window,
  Source, ...), its constants and :class:`RecordError`.
* ``parsing``: one YAML entry to one record type, and the checks across entries, with messages
  naming file, entry and key.
* ``loading``: :func:`load_record` (packaged, user and extra files) and :func:`find_seeds_dir`.
* ``passages``: :func:`verify_passages`, cited passages against the seed documents.
* ``statistics``: the statistics of a target on daily counts, and how far a value misses it.
* ``summary``: :class:`~escalation.record.summary.TargetSet`, many targets on one run, fast.
* ``reconstruct``: :func:`reconstruct`, monthly series from the aggregates, with its band;
  ``problem`` builds its optimisation problem and ``solve`` solves it.
* ``acled``: an ACLED export as observed series.
* ``overlap``: the phases and tempo panels that meet a scenario's dates.
* ``data/``: targets.yaml, series.yaml, phases.yaml and acled_mapping.yaml.
"""

from escalation.record.acled import AcledData, load_acled, load_acled_mapping
from escalation.record.loading import find_seeds_dir, load_record
from escalation.record.passages import verify_passages
from escalation.record.reconstruct import Reconstruction, reconstruct
from escalation.record.statistics import (
    compute_statistic,
    evaluate_targets,
    target_satisfied,
    target_violation,
)
from escalation.record.types import (
    APPROXIMATE_TOLERANCE,
    STATISTICS,
    Phase,
    Record,
    RecordError,
    Series,
    Target,
)

__all__ = [
    "APPROXIMATE_TOLERANCE",
    "STATISTICS",
    "AcledData",
    "Phase",
    "Reconstruction",
    "Record",
    "RecordError",
    "Series",
    "Target",
    "compute_statistic",
    "evaluate_targets",
    "find_seeds_dir",
    "load_acled",
    "load_acled_mapping",
    "load_record",
    "reconstruct",
    "target_satisfied",
    "target_violation",
    "verify_passages",
]
