"""The record's expected phase changes as targets: counted for the report, fitted as ratios."""

from __future__ import annotations

from typing import NamedTuple

from escalation.record.types import ZERO, Phase, Record, Source, Target, Value, Window


class PhaseChange(NamedTuple):
    """An expected change of a series' rate between two phases, with the counts in each."""

    phase: Phase
    series: str
    direction: str  # increase, decrease or zero
    count_in: Target  # the count in the phase
    count_versus: Target  # the count in the phase it is compared with


def phase_targets(record: Record) -> list[PhaseChange]:
    """Every expected phase change, with its two counts as targets the evaluator can compute."""
    by_id = {p.id: p for p in record.phases}
    mains = list(record.main_phases)
    out = []
    for phase in record.phases:
        for change in phase.expected_change:
            if change.versus is not None:
                versus = by_id[change.versus]
            elif phase.level == "sub" and phase.within:
                versus = by_id[phase.within]
            else:
                idx = mains.index(phase)
                if idx == 0:
                    continue
                versus = mains[idx - 1]

            source = (Source(change.source.file, change.source.passages),)
            pair = [
                Target(
                    id=f"phase:{phase.id}:{change.series}:{tag}",
                    series=change.series,
                    window=Window(p.start, p.end),
                    statistic="count",
                    value=Value(form="lower", low=0.0),
                    sources=source,
                    definition="",
                )
                for p, tag in ((phase, "in"), (versus, "versus"))
            ]
            out.append(PhaseChange(phase, change.series, change.direction, pair[0], pair[1]))
    return out


def phase_fit_targets(record: Record) -> list[Target]:
    """Every expected phase change as a target the fit can score run by run: the count in the
    phase over the count in the phase it is compared with, against the ratio of their lengths
    (a higher daily rate for an increase, a lower one for a decrease), or no events at all."""
    out = []
    for phase, series, direction, t_in, t_vs in phase_targets(record):
        days = t_in.window.days / t_vs.window.days
        if direction == "zero":
            stat, reference, value = "zero", None, ZERO
        else:
            stat, reference = "ratio", t_vs.window
            if direction == "increase":
                value = Value(form="lower", low=days, low_strict=True)
            else:
                value = Value(form="upper", high=days, high_strict=True)
        out.append(
            Target(
                id=f"phase:{phase.id}:{series}",
                series=series,
                window=t_in.window,
                statistic=stat,
                value=value,
                sources=t_in.sources,
                definition=f"{phase.label}: {direction} of the daily rate of {series}",
                reference=reference,
            )
        )
    return out
