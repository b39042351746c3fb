"""Where the record meets a scenario: the phases that overlap its dates, and the tempo panels the
record can be drawn on."""

from __future__ import annotations

from escalation.errors import UserError
from escalation.observe.periods import Period, years
from escalation.record.loading import load_record
from escalation.record.types import Record
from escalation.scenario import schema as C

#: Panels of tempo.png when the record is available: (observed series, title).
TEMPO_PANELS: tuple[tuple[str, str], ...] = (
    ("acled_us_base", "Attacks on Iraqi bases hosting US forces (as ACLED counts them)"),
    ("acled_us_convoy", "Attacks on US/Coalition logistics convoys (ACLED)"),
    ("dod_us_forces", "Attacks on US forces in Iraq and Syria (Pentagon count)"),
    ("acled_turkish_base", "Attacks on Turkish bases in northern Iraq (ACLED)"),
    ("acled_domestic", "'Morality' attacks on liquor stores, nightclubs, parlours (ACLED)"),
    ("acled_kurdish_energy_rocket", "Rocket attacks on Kurdish oil and gas fields (ACLED)"),
)


def periods_of(record: Record, scenario: C.Scenario) -> list[Period]:
    """The record's main phases that overlap the scenario's dates."""
    return [
        Period(p.id, p.start, p.end, p.label)
        for p in record.main_phases
        if p.start <= scenario.end and p.end >= scenario.start
    ]


def comparison_periods(scenario: C.Scenario, by: str | None) -> tuple[list[Period], str]:
    """The periods a comparison reports: the record's phases when asked for (``by="phases"``) or,
    with ``by=None``, when the scenario overlaps them; else calendar years. Returns the periods and
    their kind ("phases" or "years")."""
    if by != "years":
        found = periods_of(load_record(), scenario)
        if found:
            return found, "phases"
        if by == "phases":
            raise UserError(
                "--by phases needs a scenario whose dates overlap the record's phases "
                f"(this one runs {scenario.start} to {scenario.end})"
            )
    return years(scenario), "years"
