"""report.md: what was fitted, how well, against what, and what misses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from escalation.calibration.loading import Calibration
from escalation.calibration.scoring import PHASE_COLUMNS
from escalation.calibration.spec import STREAMS
from escalation.calibration.tension import tension_lines

#: The report's names of the scored models, in the order of its tables.
MODEL_LABELS = {
    "posterior_predictive": "agents, posterior predictive",
    "calibrated": "agents, calibrated (best set)",
    "null_phase_blind": "agents without the timeline, fitted the same way",
    "null_hawkes": "self-exciting (Hawkes) counts per series, fitted",
    "null_constant_rate": "constant rate per series, fitted",
}


@dataclass
class ReportInputs:
    """What the report is written from: the scores and tables of the fit, and the saved states
    of its polishes (None when not run)."""

    cal: Calibration
    scores: dict[str, Any]
    targets: pd.DataFrame
    phases: pd.DataFrame
    episodes: pd.DataFrame
    strikes: pd.DataFrame | None
    candidates: pd.DataFrame
    budget: str | Mapping[str, float]
    refine_state: dict[str, Any] | None
    trust_state: dict[str, Any] | None
    full_fit: str | None  # an out-of-sample fit: the full fit's score on its held-out targets
    rolling: str | None = None  # the table of the rolling origins' fits, when they exist
    will: pd.DataFrame | None = None  # how freely the militias attack at the best set
    tension: pd.DataFrame | None = None  # targets the posterior predictive meets apart


def report_text(r: ReportInputs) -> str:
    """The whole report.md."""
    lines = [
        *_heading(r),
        *_rolling(r),
        *_summary(r),
        *_null_models(r),
        *_phases_and_targets(r),
        *tension_lines(r.tension, r.cal.spec.report_replicates),
        *_fit(r),
    ]
    return "\n".join(lines)


def _heading(r: ReportInputs) -> list[str]:
    cal, spec = r.cal, r.cal.spec
    n_phases = len(cal.simulator.targets.targets) - len(cal.fit_targets)
    return [
        f"# Calibration report: {spec.name}",
        "",
        spec.description.strip(),
        "",
        f"Scenario `{spec.scenario}`, {len(cal.names)} fitted values, "
        f"{len(cal.fit_targets)} fit targets"
        + (f" (windows ending by {spec.fit_until})" if spec.fit_until else "")
        + (f" and {n_phases} phase directions" if n_phases else "")
        + f"; budget `{r.budget}`; {r.scores['elapsed_minutes']} minutes.",
        "",
    ]


NULL_NAMES = {
    "null_phase_blind": "phase-blind agents",
    "null_hawkes": "Hawkes",
    "null_constant_rate": "constant rate",
}


def _rolling(r: ReportInputs) -> list[str]:
    """The refits at rolling origins, each scored on the targets after it: the first test of
    whether the fit generalises."""
    if not r.rolling:
        return []
    return [
        "## Out of sample, at rolling origins",
        "",
        "The same calibration refitted (default budget, from the priors) to the targets ending by "
        "each origin, and scored on those that follow it, beside the null models fitted to the "
        "same earlier targets (`escalation calibrate ... --rolling`):",
        "",
        r.rolling.strip(),
        "",
    ]


def _summary(r: ReportInputs) -> list[str]:
    """What generalises first: the held-out targets (for a fit that leaves some out), then the
    posterior predictive ensemble, then the best set's count on the targets it was fitted to."""
    scores = r.scores
    c = scores["calibrated"]["all_tempo_targets"]
    p = scores["posterior_predictive"]["all_tempo_targets"]
    lines = ["## Summary", ""]
    if "out_of_sample_targets" in scores["calibrated"]:
        o = scores["calibrated"]["out_of_sample_targets"]
        po = scores["posterior_predictive"]["out_of_sample_targets"]
        nulls = [
            f"{label} {scores[k]['out_of_sample_targets']['hits']}"
            for k, label in NULL_NAMES.items()
            if k in scores and "out_of_sample_targets" in scores[k]
        ]
        lines.append(
            f"- **Out of sample** (targets ending after {r.cal.spec.fit_until}"
            + (f" and by {r.cal.spec.score_until}" if r.cal.spec.score_until else "")
            + ", not fitted): "
            f"the posterior predictive ensemble meets **{po['hits']} of {po['targets']} "
            f"({po['hit_rate']:.0%})**, the best set {o['hits']} ({o['hit_rate']:.0%}, RMS "
            f"distance {o['rms_distance_of_medians']})"
            + (f"; null models: {', '.join(nulls)}." if nulls else ".")
        )
    lines += [
        "- **Posterior predictive** ensemble (one run per draw of the posterior's kernel density "
        f"estimate): median inside the observed range for **{p['hits']} of {p['targets']} tempo "
        f"targets ({p['hit_rate']:.0%})**; observed value in the 90% interval for "
        f"{p['observed_in_90pct_interval']}.",
        f"- Best set ({r.cal.spec.report_replicates} runs at `best.yaml`): {c['hits']} of "
        f"{c['targets']} ({c['hit_rate']:.0%}); the observed value lies in the ensemble's 90% "
        f"interval for {c['observed_in_90pct_interval']}. Counting exact counts as met when the "
        f"median lies within their 90% Poisson sampling interval (N +- 1.645 sqrt N): "
        f"{c['hits_within_sampling_error']} of {c['targets']}.",
    ]
    if "out_of_sample_targets" in scores["calibrated"]:
        f = scores["calibrated"]["fit_targets"]
        lines.append(
            f"- In sample (the {f['targets']} targets fitted), best set: {f['hits']} "
            f"({f['hit_rate']:.0%})."
        )
    lines.append(
        f"- Phase changes reproduced (direction of the median rate): "
        f"{scores['phases']['reproduced']} of {scores['phases']['changes']}."
    )
    return lines


def _null_models(r: ReportInputs) -> list[str]:
    scores = r.scores
    lines = [
        "",
        "## Scores against null models",
        "",
        "Hit rate: share of tempo targets whose ensemble median lies inside the observed range. "
        "Distance: RMS over targets of the log-scale gap between the median and the observed "
        "range (0 inside). CRPS: mean over targets of the censored continuous ranked "
        "probability score of the whole ensemble against the observed value, range or bound, "
        "on the same log scale (0 when every run lies inside; a proper score, lower is better).",
        "",
        "| model | targets hit | hit rate | hit within sampling error | observed in 90% "
        "interval | RMS distance | CRPS |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, label in MODEL_LABELS.items():
        if key in scores:
            s = scores[key]["all_tempo_targets"]
            lines.append(
                f"| {label} | {s['hits']}/{s['targets']} | {s['hit_rate']:.0%} | "
                f"{s['hits_within_sampling_error']} | {s['observed_in_90pct_interval']} | "
                f"{s['rms_distance_of_medians']} | {s.get('crps', '')} |"
            )
    lines += _hawkes_note(scores)
    if "out_of_sample_targets" in scores["calibrated"]:
        lines += [
            "",
            "Out-of-sample targets only:",
            "",
            "| model | targets hit | hit rate | RMS distance | CRPS |",
            "|---|---|---|---|---|",
        ]
        for key, label in MODEL_LABELS.items():
            if key in scores and "out_of_sample_targets" in scores[key]:
                s = scores[key]["out_of_sample_targets"]
                lines.append(
                    f"| {label} | {s['hits']}/{s['targets']} | {s['hit_rate']:.0%} | "
                    f"{s['rms_distance_of_medians']} | {s.get('crps', '')} |"
                )
    if r.full_fit is not None:
        lines += ["", f"Full-period fit on the same out-of-sample targets: {r.full_fit}."]
    return lines


def _hawkes_note(scores: Mapping[str, Any]) -> list[str]:
    """How much the Hawkes null's series cluster: their fitted branching ratios."""
    params = scores.get("null_hawkes", {}).get("parameters")
    if not params:
        return []
    ratios = {k: v["branching_ratio"] for k, v in params.items()}
    top = max(ratios, key=ratios.__getitem__)
    clustered = sum(a > 0 for a in ratios.values())
    return [
        "",
        f"The Hawkes null's branching ratio (events each event triggers) is above zero for "
        f"{clustered} of its {len(ratios)} series, highest {ratios[top]:.2f} (`{top}`), median "
        f"{float(np.median(list(ratios.values()))):.2f}; its values per series, with the "
        "events each US strike of the timeline adds or removes, are in `hawkes.csv`.",
    ]


def _phases_and_targets(r: ReportInputs) -> list[str]:
    misses = r.targets[~r.targets["hit"]]
    phase_columns = [c for c in PHASE_COLUMNS if c != "phase_id"]
    miss_columns = [
        "id",
        "series",
        "window",
        "statistic",
        "observed",
        "median",
        "p05",
        "p95",
        "distance",
    ]
    target_columns = ["id", "role", "statistic", "window", "observed", "median", "p05", "p95"]
    return [
        "",
        "## Phase changes",
        "",
        markdown_table(r.phases, phase_columns),
        "",
        f"## Targets missed ({len(misses)})",
        "",
        markdown_table(misses, miss_columns) if len(misses) else "None.",
        *_reasons(r, list(misses["id"]), list(r.targets["id"])),
        "",
        "## All tempo targets",
        "",
        markdown_table(r.targets, [*target_columns, "hit"]),
        "",
        "## Dated incidents (episodes)",
        "",
        "Counts over less than 28 days are incidents, not tempo: a stochastic model is not "
        "expected to put one on its day. Share of calibrated runs in which each happened as "
        "reported (not fitted):",
        "",
        markdown_table(r.episodes, ["id", "window", "observed", "share_of_runs"]),
        "",
        *_replayed(r),
        *_strikes(r),
        *_will(r),
    ]


def _reasons(r: ReportInputs, missed: list[str], scored: list[str]) -> list[str]:
    """Each miss with the reason the calibration file gives for it (``misses``), the misses it
    gives none for, and the reasons it keeps for targets this fit meets. The reasons are read
    from the full fit, so a fit to an earlier origin (``fit_until``) shows none."""
    if r.cal.spec.fit_until is not None:
        return []
    given = r.cal.spec.misses
    lines = ["", "Why (the calibration file's `misses`):", ""]
    lines += [f"- `{tid}`: {given[tid]}" for tid in missed if tid in given]
    bare = [f"`{tid}`" for tid in missed if tid not in given]
    if bare:
        lines.append(f"- no reason given yet: {', '.join(bare)}")
    stale = [f"`{tid}`" for tid in scored if tid in given and tid not in missed]
    if stale:
        lines += [
            "",
            f"Reasons kept for targets this fit meets (stale): {', '.join(stale)}.",
        ]
    return lines


STRIKE_COLUMNS = [
    "event", "date", "theatre", "militia", "with_strike", "without_strike", "difference",
    "relative", "effect",
]  # fmt: skip


def _strikes(r: ReportInputs) -> list[str]:
    """What each strike on the timeline did at the best set."""
    if r.strikes is None or r.strikes.empty:
        return []
    table = r.strikes.assign(
        difference=[f"{d:+.1f} ± {h:.1f}" for d, h in
                    zip(r.strikes["difference"], r.strikes["difference_pm90"], strict=True)],
        relative=[f"{x:+.0%}" if pd.notna(x) else "" for x in r.strikes["relative"]],
    )  # fmt: skip
    return [
        "## What the timeline's strikes did",
        "",
        "Attacks on US targets in the 30 days after each strike, at the best set, in runs with "
        "the strike and without it on the same seeds (mean of each; the difference with its 90% "
        "interval). A strike *deters* when the interval lies below zero, *provokes* when above.",
        "",
        markdown_table(table.round({"with_strike": 1, "without_strike": 1}), STRIKE_COLUMNS),
        "",
    ]


#: the target classes the saturation table shows: those of the record's tempo against US forces
WILL_TARGETS = ("us_base", "us_convoy", "us_base_syria")


def _will(r: ReportInputs) -> list[str]:
    """Where the militias attack US targets whenever they can, at the best set."""
    if r.will is None or r.will.empty:
        return []
    table = r.will[r.will["target"].isin(WILL_TARGETS)]
    if table.empty:
        return []
    periods = sorted(table["period"].unique())
    rows = []
    for (mid, tid), group in table.groupby(["militia", "target"], sort=True):
        by_period = group.set_index("period")
        row = {"militia": mid, "target": tid}
        for p in periods:
            if p not in by_period.index:
                row[p] = ""
                continue
            row[p] = _will_cell(by_period.loc[p])
        rows.append(row)
    saturated = table[table["saturated_share"] >= 0.5]
    where = "; ".join(
        f"{mid} on {tid} in {', '.join(sorted(g['period']))}"
        for (mid, tid), g in saturated.groupby(["militia", "target"], sort=True)
    )
    return [
        "## How freely the militias attack",
        "",
        "A militia's odds of attacking a US target class on a day one is within its reach (w / (1 "
        "+ w), w the summed weights of its options on the class), on the days it can attack it "
        "(it has not dropped the class and has a weapon for it in stock), at the best set: mean "
        f"over days sampled every 5 days in {int(r.will['runs'].iloc[0])} runs, by half-year. "
        "**Bold**: odds of at least 0.9 on at least half of those days, where the militia "
        "attacks whenever a target is within reach, so the tempo follows the US footprint and "
        "the convoys' opportunity and a change of will (a strike's deterrent, a truce, Iran's "
        "line) moves it little. (dropped): it had dropped the class on at least half of the "
        "days; (unarmed): it had no weapon for it in stock on at least half. Every class, with "
        "the attacks made, is in will.csv.",
        "",
        markdown_table(pd.DataFrame(rows)),
        "",
        f"Saturated: {where}." if where else "Saturated: none.",
        "",
    ]


def _will_cell(x: pd.Series) -> str:
    """Mean odds, bold when saturated, and why the militia could not attack most days."""
    cell = "" if pd.isna(x["odds"]) else f"{x['odds']:.2f}"
    if cell and x["saturated_share"] >= 0.5:
        cell = f"**{cell}**"
    if x["dropped_share"] >= 0.5:
        cell += " (dropped)"
    elif x["unarmed_share"] >= 0.5:
        cell += " (unarmed)"
    return cell.strip()


def _replayed(r: ReportInputs) -> list[str]:
    """The record's targets the timeline replays: inputs, listed so none goes unremarked."""
    if not r.cal.replayed:
        return []
    rows = pd.DataFrame(
        [{"id": t.id, "window": str(t.window), "event": eid} for eid, t in r.cal.replayed]
    )
    return [
        "## Replayed by the timeline (inputs, not scored)",
        "",
        "The scenario schedules these strikes of the record on their days (the events' "
        "`restates`), so meeting them says nothing about the model:",
        "",
        markdown_table(rows, ["id", "window", "event"]),
        "",
    ]


def _fit(r: ReportInputs) -> list[str]:
    abc = r.scores["abc"]
    best = r.scores["best"]
    return [
        "## Fit",
        "",
        f"ABC-SMC: {abc['generations']} generations, {abc['simulations']} "
        f"simulations; stopped: {abc['stopped']}. Final tolerance "
        f"{abc['final_epsilon']:.3f}, effective sample size "
        f"{abc['final_ess']:.0f}.",
        "",
        markdown_table(pd.DataFrame(abc["history"]).round(3)),
        "",
        _how_chosen(r),
        "",
        markdown_table(
            pd.DataFrame({"value": list(best), "fitted": [f"{v:.4g}" for v in best.values()]})
        ),
        "",
        f"Seeds: every random draw descends from the master seed {r.cal.spec.seed} through "
        "named streams (`escalation.seeds.Streams`), so each stage draws the same whatever the "
        "others do:",
        "",
        markdown_table(pd.DataFrame({"stream": list(STREAMS), "draws": list(STREAMS.values())})),
        "",
        "Files: `posterior.csv` (weighted sample), `best.yaml` (scenario overlay), `targets.csv`,"
        " `targets_posterior_predictive.csv`, `phases.csv`, `episodes.csv`, `hawkes.csv` (the "
        "Hawkes null's values), `strikes.csv`, `will.csv`, `scores.json`, `tempo_posterior.png`, "
        "`marginals.png`, `pairs.png`, `abc/` (every simulation, every generation; resumable).",
        "",
    ]


def _how_chosen(r: ReportInputs) -> str:
    """How the best set was chosen and polished."""
    candidates = r.candidates
    return (
        "Best parameter set: chosen among the best particles"
        + (
            f", the posterior mean and the start values given (the {candidates.iloc[0]['kind']}"
            " won)"
            if (candidates["kind"] == "start").any()
            else " and the posterior mean"
        )
        + " by the expected number of fit targets the median of a 100-run ensemble meets "
        "(estimated by resampling each candidate's runs), then polished"
        + (
            " by an adaptive coordinate search in prior-quantile steps on the same criterion "
            f"with common seeds ({_refine_summary(r.refine_state)}; `refinement.csv` lists the "
            "accepted moves), then"
            if r.refine_state is not None
            else " (no coordinate search)"
        )
        + " by trust-region steps that move every value at once, on a local linear model of each "
        "target's chances fitted to runs at random perturbations, each step kept only if the "
        f"ensemble there is expected to meet more targets ({_trust_summary(r)}; "
        "`trust.csv` lists the steps); the scores above come from fresh seeds:"
    )


def _refine_summary(saved: Mapping[str, Any]) -> str:
    """How far the coordinate search went, from its saved state."""
    sweeps = int(saved["sweep"]) - 1
    moves = len(saved["log"]) - 1
    first, last = saved["log"][0], saved["log"][-1]
    return (
        f"{sweeps} sweeps over {len(saved['u'])} values, {moves} moves accepted, expected fit "
        f"criteria met from {first['hits']:.1f} to {last['hits']:.1f}"
        + ("; stopped when no step improved" if saved["done"] else "")
    )


def _trust_summary(r: ReportInputs) -> str:
    """How far the trust-region polish went, from its saved state."""
    if r.trust_state is None:
        return "not run"
    log = r.trust_state["log"]
    if not log:
        return "no step taken"
    kept = [e for e in log if e["accepted"]]
    last = kept[-1]["candidate_hits"] if kept else log[0]["centre_hits"]
    return (
        f"{len(log)} steps, {len(kept)} kept, expected fit criteria met by the median of "
        f"{r.cal.spec.report_replicates} runs from {log[0]['centre_hits']:.1f} to {last:.1f}"
    )


def read_report_table(path: Path) -> pd.DataFrame:
    """A table the calibration wrote (CSV), read back so that the report shows every cell as
    the fit first showed it: a column keeps its text unless each of its cells reads back
    unchanged as a number or a truth value (an integer count is not shown as 717.0, nor a
    ratio undefined in most runs as nan)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for name in frame.columns:
        frame[name] = _typed(frame[name])
    return frame


def _typed(column: pd.Series) -> pd.Series:
    if len(column) and column.isin(["True", "False"]).all():
        return column == "True"
    filled = column[column != ""]
    numbers = pd.to_numeric(filled, errors="coerce")
    if len(filled) and numbers.notna().all() and (numbers.astype(str) == filled).all():
        return pd.to_numeric(column.replace("", np.nan))
    return column


def markdown_table(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> str:
    """A DataFrame as a Markdown table (no extra dependency)."""
    frame = frame[list(columns)] if columns else frame
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def _cell(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "**no**"
    if isinstance(v, pd.Timestamp) and v == v.normalize():  # a date read back from a table
        return v.date().isoformat()
    return str(v).replace("|", "/").replace("\n", " ")
