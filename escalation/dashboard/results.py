"""What the page shows of a finished ensemble: the tempo figure, headline cards, one run's event
log and the paired differences from the unmodified scenario, as PNG bytes and JSON-ready data."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from escalation.dashboard.library import Settings
from escalation.observe.outcomes import label as outcome_label
from escalation.scenario import schema as C
from escalation.scenario.superseded import superseded_settings

if TYPE_CHECKING:
    from escalation.experiments.runner import Ensemble

TEMPO_DPI = 100
#: Outcomes whose paired differences the page tabulates, and those it shows as headline cards
#: (the run totals of the same names; see escalation.observe.outcomes).
DIFF_METRICS = ("attacks_on_us", "us_wounded", "retaliations", "truce_days", "attacks")
CARD_METRICS = ("attacks_on_us", "us_wounded", "retaliations", "truce_days")
EVENT_COLUMNS = (
    "date", "actor", "action", "target", "weapon", "size", "claim", "intercepted", "us_wounded",
    "us_killed", "detail",
)  # fmt: skip


def render_tempo(
    monthly: pd.DataFrame, scenario: C.Scenario, events: pd.DataFrame, record: Any
) -> bytes:
    """The tempo figure (simulated against the record) as PNG bytes: the command line's
    ``tempo.png``, offered as a download."""
    import matplotlib.pyplot as plt

    from escalation.viz.tempo import plot_tempo

    fig = plot_tempo(monthly, scenario, events=events, overlay=record)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=TEMPO_DPI)
    plt.close(fig)
    return buf.getvalue()


def _rounded(values: Any) -> list[float]:
    return [round(float(v), 2) for v in values]


def tempo_data(
    monthly: pd.DataFrame, scenario: C.Scenario, events: pd.DataFrame, record: Any
) -> dict[str, Any]:
    """What the page draws as its tempo chart, as JSON-ready data: per panel the simulated
    monthly 5%, median and 95% across runs and the record's figures (:meth:`RecordOverlay.marks`),
    the record's phases (or, without them, the spans most runs spend under a truce) and the
    timeline's marked events. The page draws it itself, so labels stay legible at any width."""
    from escalation.viz.tempo import bands, default_panels, truce_share

    start, end = pd.Timestamp(scenario.start), pd.Timestamp(scenario.end)
    panels = []
    for series, title in default_panels(monthly, scenario, record):
        q = bands(monthly, series)
        marks = record.marks(series, start, end) if record is not None else []
        panels.append(
            {"series": series, "title": title, "months": [str(m) for m in q.index],
             "low": _rounded(q["low"]), "median": _rounded(q["median"]),
             "high": _rounded(q["high"]), "record": marks}
        )  # fmt: skip
    phases = record.phases() if record is not None else []
    truces: list[list[str]] = []
    if not phases and not events.empty:
        on = truce_share(events, start, end) >= 0.5
        edges = np.flatnonzero(np.diff(np.r_[0, on.to_numpy().astype(int), 0]))
        days = on.index
        truces = [[str(days[a].date()), str(days[b - 1].date())] for a, b in
                  zip(edges[::2], edges[1::2], strict=True)]  # fmt: skip
    marked = [
        {"id": eid, "date": str(ev.date), "label": ev.label}
        for eid, ev in scenario.sorted_events()
        if ev.mark and scenario.start <= ev.date <= scenario.end
    ]
    return {
        "start": str(scenario.start),
        "end": str(scenario.end),
        "runs": int(monthly["run"].nunique()),
        "panels": panels,
        "phases": [
            {"label": p.label or p.name, "start": str(p.start), "end": str(p.end)} for p in phases
        ],
        "truces": truces,
        "events": marked,
    }


def event_table(events: pd.DataFrame, run: int = 0) -> dict[str, Any]:
    """One run's event log as JSON-ready columns and rows."""
    sub = events[events["run"] == run] if "run" in events else events
    sub = sub.copy()
    if "brand" in sub and "claim" in sub:
        branded = sub["brand"].fillna("").astype(str) != ""
        sub.loc[branded, "claim"] = sub.loc[branded, "claim"] + ": " + sub.loc[branded, "brand"]
    sub = sub[[c for c in EVENT_COLUMNS if c in sub.columns]]
    sub["date"] = pd.to_datetime(sub["date"]).dt.strftime("%Y-%m-%d")
    rows = json.loads(sub.to_json(orient="values"))
    return {"columns": list(sub.columns), "rows": rows}


def actor_labels(scenario: C.Scenario) -> dict[str, str]:
    """Names of the event log's actors, for its filter menu."""
    labels = {"us": "US forces", "iran": "Iran", "iraq": "Iraqi government"}
    labels |= {"militias": "militias (truces)", "timeline": "timeline"}
    for mid, m in scenario.militias.items():
        labels[mid] = f"{mid}: {m.name}" if getattr(m, "name", None) else mid
    return labels


def summary_cards(runs: pd.DataFrame) -> list[dict[str, Any]]:
    """Median and 5-95% across runs of the headline totals."""
    out = []
    for col in CARD_METRICS:
        if col not in runs:
            continue
        v = runs[col].astype(float)
        out.append(
            {
                "metric": col,
                "label": outcome_label(col),
                "median": float(v.median()),
                "low": float(v.quantile(0.05)),
                "high": float(v.quantile(0.95)),
            }
        )
    return out


def differences_table(
    variant: pd.DataFrame, reference: pd.DataFrame, periods: list[Any], seed: int
) -> dict[str, Any]:
    """Paired differences (your settings minus the scenario) per period, as JSON-ready rows."""
    from escalation.experiments.compare import paired_differences

    metrics = pd.concat(
        [variant.assign(scenario="settings"), reference.assign(scenario="scenario")],
        ignore_index=True,
    )
    metrics = metrics[metrics["metric"].isin(DIFF_METRICS)]
    d = paired_differences(metrics, "scenario", seed=seed)
    cols = ["period", "metric", "reference_mean", "mean", "mean_difference", "ci_low", "ci_high"]
    cols += ["low", "high", "share_higher"]
    rows = json.loads(d[cols].to_json(orient="records"))
    names = [{"name": "overall", "label": "whole run"}]
    names += [{"name": p.name, "label": p.label or p.name, "start": str(p.start)} for p in periods]
    labels = {m: outcome_label(m) for m in DIFF_METRICS}
    return {"periods": names, "metrics": list(DIFF_METRICS), "labels": labels, "rows": rows}


def run_info(
    job: int, settings: Settings, ensemble: Ensemble, events: pd.DataFrame, has_record: bool
) -> dict[str, Any]:
    """What the page shows of an ensemble before the comparison with the scenario is in."""
    s = settings
    return {
        "job": job,
        "scenario": s.scenario_id,
        "name": s.variant.name,
        "file": str(s.path),
        "overrides": s.overrides,
        # settings the timeline replaces later in the run (the hold checkbox keeps the doctrine)
        "warnings": superseded_settings(s.variant),
        "command": s.command(),
        "replicates": s.replicates,
        "seed": s.seed,
        "first_seed": str(ensemble.seeds[0]) if ensemble.seeds else None,
        "record": has_record,
        "cards": summary_cards(ensemble.runs),
        "events": event_table(events, 0),
        "actors": actor_labels(s.variant),
        "differences": None,
        "complete": False,
    }
