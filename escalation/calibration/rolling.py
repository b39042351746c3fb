"""Rolling-origin validation: the calibration refitted at several origins, each scored on the
targets that follow it, against the null models fitted to the same earlier targets.

An origin fits only the targets whose windows end by its date and scores, out of sample, those
ending after it and by its horizon. Each origin is an ordinary calibration
(:func:`escalation.calibration.pipeline.run_calibration` with ``fit_until`` and
``score_until``) in its own folder, so an interrupted validation resumes origin by origin; this
module names the origins, reads their scores into one table and sets each later target an
origin misses beside what the fit to the whole record does with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from escalation.files import read_json


class Origin(NamedTuple):
    """Fit the targets ending by ``fit_until``; score those ending after it and by
    ``score_until`` (None: to the end of the record)."""

    fit_until: dt.date
    score_until: dt.date | None


#: fit to 2020 and score 2021; fit to 2021 and score 2022-2023; fit to September 2023 and score
#: the last quarter of 2023
ORIGINS: tuple[Origin, ...] = (
    Origin(dt.date(2020, 12, 31), dt.date(2021, 12, 31)),
    Origin(dt.date(2021, 12, 31), None),
    Origin(dt.date(2023, 9, 30), None),
)

#: the models of a fit's scores.json, as the table names them
MODELS: dict[str, str] = {
    "posterior_predictive": "posterior predictive",
    "calibrated": "best set",
    "null_hawkes": "Hawkes",
    "null_phase_blind": "phase-blind agents",
    "null_constant_rate": "constant rates",
}


def folder_name(name: str, origin: Origin) -> str:
    """The output folder (under calibrations/fitted/) of a calibration fitted at ``origin``."""
    to = f"-to-{origin.score_until}" if origin.score_until else ""
    return f"{name}-until-{origin.fit_until}{to}"


def origin_scores(folder: Path, origin: Origin) -> pd.DataFrame:
    """One row per model of a finished origin's fit: its out-of-sample hits, hit rate, CRPS."""
    scores = read_json(folder / "scores.json")
    if not isinstance(scores, dict):
        raise FileNotFoundError(folder / "scores.json")
    rows = []
    for key, label in MODELS.items():
        held = scores.get(key, {}).get("out_of_sample_targets")
        if held is None:
            continue
        rows.append(
            {
                "fit_until": str(origin.fit_until),
                "score_until": str(origin.score_until or "end"),
                "model": label,
                "targets": held["targets"],
                "hits": held["hits"],
                "hit_rate": held["hit_rate"],
                "crps": held.get("crps"),
            }
        )
    return pd.DataFrame(rows)


def rolling_table(fitted: Path, name: str, origins: Sequence[Origin] = ORIGINS) -> pd.DataFrame:
    """Every finished origin's rows (origins not yet fitted are left out)."""
    frames = [
        origin_scores(fitted / folder_name(name, o), o)
        for o in origins
        if (fitted / folder_name(name, o) / "scores.json").exists()
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


#: the per-target table of a fit's posterior predictive ensemble
PREDICTIVE_TARGETS = "targets_posterior_predictive.csv"


def rolling_misses(fitted: Path, name: str, origins: Sequence[Origin] = ORIGINS) -> pd.DataFrame:
    """Every later target a finished origin's posterior predictive misses, beside what the fit
    to the whole record (``fitted/name``) predicts for it: a miss the whole-record fit shares is
    one the model does not fit even when it sees the target; one it meets is what the record
    before the origin did not teach. Columns: fit_until, id, observed, median, p05, p95,
    whole_median and whole_hit (empty where the whole record has not been fitted)."""
    whole_path = fitted / name / PREDICTIVE_TARGETS
    whole = pd.read_csv(whole_path).set_index("id") if whole_path.exists() else None
    frames = []
    for o in origins:
        path = fitted / folder_name(name, o) / PREDICTIVE_TARGETS
        if not path.exists():
            continue
        t = pd.read_csv(path)
        t = t[(t["role"] == "out of sample") & ~t["hit"].astype(bool)]
        t = t[["id", "observed", "median", "p05", "p95"]].copy()
        t.insert(0, "fit_until", str(o.fit_until))
        t["whole_median"] = t["id"].map(whole["median"]) if whole is not None else None
        t["whole_hit"] = t["id"].map(whole["hit"]) if whole is not None else None
        frames.append(t)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def misses_summary(misses: pd.DataFrame) -> list[str]:
    """Per origin, one line: how many later targets it misses and how many of those the fit to
    the whole record misses too."""
    lines = []
    for fit, rows in misses.groupby("fit_until", sort=False):
        line = f"- fitted to {fit}: {len(rows)} later targets missed"
        known = rows["whole_hit"].notna()
        if known.any():
            shared = int((~rows.loc[known, "whole_hit"].astype(bool)).sum())
            line += (
                f"; the fit to the whole record misses {shared} of them too (the model does "
                f"not fit them even when it sees them), and meets {int(known.sum()) - shared} "
                "(what the record before the origin did not teach)"
            )
        lines.append(line)
    return lines


def misses_markdown(misses: pd.DataFrame, reasons: Mapping[str, str]) -> str:
    """The section of the rolling report on the later targets each origin misses: the summary
    lines, one table per origin, and the calibration file's reason for each miss that has one
    (its ``misses``, written for the fit to the whole record)."""
    if misses.empty:
        return "No fitted origin misses a later target.\n"
    parts = ["\n".join(misses_summary(misses)), ""]
    for fit, rows in misses.groupby("fit_until", sort=False):
        parts += [
            f"### Fitted to {fit}",
            "",
            "| target | observed | median (5-95%) | fitted to the whole record: median, met |",
            "|---|---|---|---|",
        ]
        for r in rows.itertuples():
            whole = "-"
            if not pd.isna(r.whole_hit):
                whole = f"{_num(r.whole_median)}, {_yes(r.whole_hit)}"
            band = "" if pd.isna(r.p05) else f" ({_num(r.p05)} to {_num(r.p95)})"
            parts.append(f"| {r.id} | {r.observed} | {_num(r.median)}{band} | {whole} |")
        parts.append("")
    given = [i for i in dict.fromkeys(misses["id"]) if i in reasons]
    if given:
        parts += [
            "Why (the calibration file's `misses`, written for the best set fitted to the whole "
            "record):",
            "",
        ]
        parts += [f"- **{i}**: {reasons[i]}" for i in given]
    return "\n".join(parts).rstrip() + "\n"


def _yes(hit: object) -> str:
    return "met" if bool(hit) else "missed"


def _num(x: object) -> str:
    """A table's figure as read back from CSV: numbers to three significant digits, a month or
    other text as it is, a missing one as '-'."""
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "-"
    try:
        return f"{float(str(x)):.3g}"
    except ValueError:
        return str(x)


def stale_origins(
    fitted: Path, name: str, parameters: set[str], origins: Sequence[Origin] = ORIGINS
) -> list[str]:
    """The fitted origins (their fit_until dates) whose fitted values are not ``parameters``:
    fitted with an earlier version of the calibration, so their scores do not test this one."""
    stale = []
    for o in origins:
        path = fitted / folder_name(name, o) / "scores.json"
        if path.exists() and set((read_json(path) or {}).get("best", {})) != parameters:
            stale.append(str(o.fit_until))
    return stale


def rolling_markdown(table: pd.DataFrame) -> str:
    """The table as the report shows it: per origin, each model's out-of-sample hits and CRPS,
    and whether the calibrated model (posterior predictive) has the lowest CRPS."""
    if table.empty:
        return "No rolling origin has been fitted yet.\n"
    lines = [
        "| fitted to | scored to | model | targets met | CRPS (lower is better) |",
        "|---|---|---|---|---|",
    ]
    verdicts = []
    for (fit, score), rows in table.groupby(["fit_until", "score_until"], sort=False):
        for r in rows.itertuples():
            crps = "-" if r.crps is None or pd.isna(r.crps) else f"{r.crps:.3f}"
            lines.append(
                f"| {fit} | {score} | {r.model} | {r.hits} of {r.targets} ({r.hit_rate:.0%}) "
                f"| {crps} |"
            )
        verdicts.append(_verdict(fit, rows))
    return "\n".join(lines) + "\n\n" + "\n".join(verdicts) + "\n"


def _verdict(fit: str, rows: pd.DataFrame) -> str:
    """Whether the posterior predictive has a lower CRPS than every null model at one origin."""
    by = dict(zip(rows["model"], rows["crps"], strict=True))
    own = by.get(MODELS["posterior_predictive"])
    nulls = {m: c for m, c in by.items() if m not in (MODELS["posterior_predictive"], "best set")}
    if own is None or pd.isna(own) or not nulls:
        return f"- fitted to {fit}: no CRPS to compare"
    beaten = [m for m, c in nulls.items() if c is not None and not pd.isna(c) and c <= own]
    if not beaten:
        return f"- fitted to {fit}: the posterior predictive beats every null model on CRPS"
    return f"- fitted to {fit}: the posterior predictive does **not** beat {', '.join(beaten)}"
