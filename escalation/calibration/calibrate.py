"""``escalation calibrate``: fit, choose the best parameter set, score it, write the report."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from escalation.calibration.abc import Progress, Settings, abc_smc
from escalation.calibration.fit import (
    BUDGETS,
    Calibration,
    Simulator,
    best_overlay,
    choose_best,
    constant_rate_statistics,
    constant_rates,
    distance_runner,
    phase_blind,
    posterior_frame,
    refine,
    report_seeds,
    settings_for,
    tidy,
)
from escalation.calibration.report import (
    episode_table,
    markdown_table,
    phase_table,
    phase_targets,
    score,
    target_table,
)
from escalation.calibration.trust import TrustSettings, trust_polish
from escalation.experiments.executors import Shared, make_executor
from escalation.experiments.runner import run
from escalation.record.summary import TargetSet
from escalation.seeds import spawn_seeds


@dataclass
class ReportSet:
    """Everything one ensemble is scored on: tempo targets, episodes, phase-change counts."""

    ts: TargetSet
    n_tempo: int
    n_episodes: int
    changes: list


def report_set(cal: Calibration) -> ReportSet:
    changes = phase_targets(cal.record)
    counts = [t for _, _, _, a, b in changes for t in (a, b)]
    counts = [t for t in counts if t.within(cal.scenario.start, cal.scenario.end)]
    changes = [
        c
        for c in changes
        if c[3].within(cal.scenario.start, cal.scenario.end)
        and c[4].within(cal.scenario.start, cal.scenario.end)
    ]
    counts = [t for _, _, _, a, b in changes for t in (a, b)]
    targets = [*cal.score_targets, *cal.episodes, *counts]
    n_days = (cal.scenario.end - cal.scenario.start).days + 1
    ts = TargetSet(targets, cal.series_names, cal.scenario.start, n_days)
    return ReportSet(ts, len(cal.score_targets), len(cal.episodes), changes)


def _report_task(task: tuple[Shared[Simulator], list[float], int, list[str]]):
    """One run for the report: statistics of every report target and the panels' monthly values."""
    shared, values, seed, panels = task
    sim = shared.get()
    scenario, series = sim.configure(values)
    result = run(scenario, seed, series=series, daily_series=True)
    stats = sim.targets.evaluate(result.daily_series)
    monthly = result.monthly[result.monthly["series"].isin(panels)]
    return stats, monthly


def ensemble(
    sim: Simulator, draws: list[list[float]], seeds: list[int], executor, panels: list[str]
) -> tuple[np.ndarray, pd.DataFrame]:
    """Runs at the given parameter draws (one per seed): statistics and monthly panel values."""
    shared = Shared(sim)  # sent to each worker process once
    tasks = [(shared, list(v), s, panels) for v, s in zip(draws, seeds, strict=True)]
    stats: list[Any] = [None] * len(tasks)
    frames: list[Any] = [None] * len(tasks)
    for i, (st, monthly) in executor.imap(_report_task, tasks):
        stats[i] = st
        frames[i] = monthly.assign(run=i)
    return np.array(stats), pd.concat(frames, ignore_index=True)


def _abc(
    c: Calibration,
    settings: Settings,
    folder: Path,
    stage: str,
    identity: dict[str, Any],
    executor: Any,
    note: Callable[..., None],
) -> tuple[list[Any], float]:
    """ABC-SMC for ``c`` in ``folder`` (resumed if it holds an unfinished fit): its generations,
    and the ABC wall time spent there by earlier, interrupted runs (counted once)."""
    t0 = time.monotonic()
    gens = abc_smc(
        c.names,
        distance_runner(c.simulator, executor),
        settings,
        folder,
        on_progress=lambda p: note(stage, p),
        identity=identity,
    )
    return gens, _earlier(folder / "state.json", t0)


def _earlier(state: Path, t0: float) -> float:
    """Wall time spent by earlier, interrupted runs of a stage: the total its state file records
    less this call's (since ``t0``)."""
    try:
        total = float(json.loads(state.read_text(encoding="utf-8")).get("elapsed", 0.0))
    except (OSError, ValueError):
        return 0.0
    return max(0.0, total - (time.monotonic() - t0))


def run_calibration(
    cal: Calibration,
    out: Path,
    *,
    budget: str | dict[str, float] = "default",
    jobs: int | None = None,
    scheduler: str | None = None,
    restart: bool = False,
    polish_sweeps: int | None = None,
    polish_steps: int | None = None,
    start: Sequence[float] | None = None,
    progress: Callable[[str, Progress | None], None] | None = None,
) -> dict[str, Any]:
    """The whole calibration; returns the scores written to scores.json. ``polish_sweeps``
    overrides the budget's sweeps of the coordinate search that polishes the best set, and
    ``polish_steps`` its steps of the trust-region polish that follows; ``start`` (values for
    every fitted name) joins the candidates for the best set."""
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    if restart:
        for folder in (out / "abc", out / "abc_null"):
            if folder.exists():
                for f in folder.iterdir():
                    f.unlink()
        for name in ("refine.json", "refine_null.json", *POLISH_STATE, *POLISH_STATE_NULL):
            (out / name).unlink(missing_ok=True)
    executor = make_executor(jobs, scheduler)
    note = (lambda stage, p=None: progress(stage, p)) if progress else (lambda *a: None)
    try:
        # earlier: ABC and polish time spent by earlier, interrupted runs of this command
        gens, earlier = _abc(
            cal, settings_for(cal, budget), out / "abc", "fit", cal.identity(), executor, note
        )
        post = gens[-1]
        posterior = posterior_frame(cal, post)
        posterior.to_csv(out / "posterior.csv", index=False)
        note("choosing the best parameter set")
        cand_seeds = spawn_seeds(cal.spec.seed + 2, cal.spec.candidate_replicates)
        best, candidates = choose_best(cal, post, executor, cand_seeds, start)
        b = BUDGETS[budget] if isinstance(budget, str) else budget
        sweeps = int(b.get("refine_sweeps", 1)) if polish_sweeps is None else polish_sweeps
        if sweeps:
            refine_seeds = spawn_seeds(cal.spec.seed + 4, int(b.get("refine_seeds", 8)))
            t0 = time.monotonic()
            best, refinement = refine(
                cal,
                best,
                executor,
                refine_seeds,
                sweeps=sweeps,
                state=out / "refine.json",
                note=note,
            )
            refinement.to_csv(out / "refinement.csv", index=False)
            earlier += _earlier(out / "refine.json", t0)
        elif not (out / "refine.json").exists():  # no coordinate search: no stale table of one
            (out / "refinement.csv").unlink(missing_ok=True)
        steps = int(b.get("trust_steps", 0)) if polish_steps is None else polish_steps
        if steps:
            best, joint, spent = _polish_jointly(
                cal, best, executor, b, steps, out / POLISH_STATE[0], note
            )
            joint.to_csv(out / "trust.csv", index=False)
            earlier += spent
        best = [tidy(v) for v in best]  # as written to best.yaml and to scenarios
        candidates.assign(
            values=candidates["values"].map(
                lambda v: json.dumps(dict(zip(cal.names, v, strict=True)))
            )
        ).to_csv(out / "candidates.csv", index=False)
        (out / "best.yaml").write_text(best_overlay(cal, best, out), encoding="utf-8")

        rs = report_set(cal)
        rsim = Simulator(cal.scenario, cal.simulator.series, rs.ts, cal.names, cal.simulator.priors)
        panels = [p for p, _ in _panels()]
        seeds = report_seeds(cal)
        note("calibrated ensemble")
        stats_best, _ = ensemble(rsim, [best] * len(seeds), seeds, executor, panels)
        note("posterior predictive ensemble")
        rng = np.random.default_rng(cal.spec.seed + 3)
        w = post.weight / post.weight.sum()
        picks = rng.choice(len(w), size=len(seeds), p=w)
        draws = [cal.simulator.values(post.u[i]) for i in picks]
        stats_post, monthly_post = ensemble(rsim, draws, seeds, executor, panels)

        tempo_ids = [t.id for t in cal.score_targets]
        fit_ids = [t.id for t in cal.fit_targets]
        hold_ids = [t.id for t in cal.holdout_targets]
        nt, ne = rs.n_tempo, rs.n_episodes
        tempo_ts = TargetSet.__new__(TargetSet)
        _slice_targets(tempo_ts, rs.ts, 0, nt)
        episodes_ts = TargetSet.__new__(TargetSet)
        _slice_targets(episodes_ts, rs.ts, nt, nt + ne)
        roles = {i: "fit" for i in fit_ids} | {i: "out of sample" for i in hold_ids}
        targets_best = target_table(tempo_ts, stats_best[:, :nt], roles)
        targets_post = target_table(tempo_ts, stats_post[:, :nt], roles)
        targets_best.to_csv(out / "targets.csv", index=False)
        targets_post.to_csv(out / "targets_posterior_predictive.csv", index=False)
        episodes = episode_table(episodes_ts, stats_best[:, nt : nt + ne])
        episodes.to_csv(out / "episodes.csv", index=False)
        phases = phase_table(rs.changes, stats_best, nt + ne)
        phases.to_csv(out / "phases.csv", index=False)

        scores: dict[str, Any] = {
            "calibrated": _scores(tempo_ts, stats_best[:, :nt], tempo_ids, fit_ids, hold_ids),
            "posterior_predictive": _scores(
                tempo_ts, stats_post[:, :nt], tempo_ids, fit_ids, hold_ids
            ),
        }
        note("null model: constant rates")
        n_days = (cal.scenario.end - cal.scenario.start).days + 1
        fit_ts = cal.simulator.targets
        rates = constant_rates(cal, fit_ts, n_days)
        const_stats = constant_rate_statistics(rates, tempo_ts, n_days, seeds)
        scores["null_constant_rate"] = _scores(tempo_ts, const_stats, tempo_ids, fit_ids, hold_ids)
        if cal.spec.null_budget_share > 0:
            note("null model: phase-blind agents")
            blind = phase_blind(cal)
            blind_gens, blind_earlier = _abc(
                blind,
                settings_for(cal, budget, cal.spec.null_budget_share),
                out / "abc_null",
                "null fit",
                {**cal.identity(), "null": "phase_blind"},
                executor,
                note,
            )
            earlier += blind_earlier
            blind_best, _ = choose_best(blind, blind_gens[-1], executor, cand_seeds)
            if sweeps:  # polished the same way, with its share of the budget
                blind_sweeps = max(1, round(sweeps * cal.spec.null_budget_share))
                t0 = time.monotonic()
                blind_best, _ = refine(
                    blind,
                    blind_best,
                    executor,
                    refine_seeds,
                    sweeps=blind_sweeps,
                    state=out / "refine_null.json",
                    note=note,
                )
                earlier += _earlier(out / "refine_null.json", t0)
            blind_steps = round(steps * cal.spec.null_budget_share)  # its share of the steps
            if blind_steps:
                blind_best, _, spent = _polish_jointly(
                    blind, blind_best, executor, b, blind_steps, out / POLISH_STATE_NULL[0], note
                )
                earlier += spent
            bsim = Simulator(
                blind.scenario, cal.simulator.series, tempo_ts, blind.names, blind.simulator.priors
            )
            blind_stats, _ = ensemble(bsim, [blind_best] * len(seeds), seeds, executor, panels)
            scores["null_phase_blind"] = _scores(
                tempo_ts, blind_stats, tempo_ids, fit_ids, hold_ids
            )
        scores["phases"] = {
            "changes": len(phases),
            "reproduced": int(phases["reproduced"].sum()),
        }
        scores["episodes_mean_share"] = round(float(episodes["share_of_runs"].mean()), 3)
        state = json.loads((out / "abc" / "state.json").read_text())
        scores["abc"] = {
            "generations": len(gens),
            "simulations": state.get("simulations"),
            "stopped": state.get("stopped"),
            "final_epsilon": post.epsilon,
            "final_ess": post.ess,
            "history": state.get("history"),
        }
        scores["best"] = dict(zip(cal.names, best, strict=True))
        scores["fit_until"] = str(cal.spec.fit_until) if cal.spec.fit_until else None
        scores["budget"] = budget
        # wall time of the whole fit, counting the ABC time of interrupted earlier runs
        scores["elapsed_minutes"] = round((time.monotonic() - started + earlier) / 60, 2)
        scores["written"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        _write_json(out / "scores.json", scores)

        note("plots and report")
        plot_marginals(cal, posterior, best, out / "marginals.png")
        plot_pairs(cal, posterior, out / "pairs.png")
        plot_posterior_tempo(cal, monthly_post, out / "tempo_posterior.png")
        write_report(cal, out, scores, targets_best, phases, episodes, candidates, budget)
        return scores
    finally:
        executor.close()


#: The trust-region polish's saved state and runs, for the fit and the phase-blind null model.
POLISH_STATE = ("trust.json", "trust.npz")
POLISH_STATE_NULL = ("trust_null.json", "trust_null.npz")


def _polish_jointly(
    c: Calibration,
    best: Sequence[float],
    executor: Any,
    budget: Mapping[str, float],
    steps: int,
    state: Path,
    note: Callable[..., None],
) -> tuple[list[float], pd.DataFrame, float]:
    """The trust-region polish of ``best``: the values, the log, and the wall time earlier,
    interrupted runs of it spent."""
    t0 = time.monotonic()
    values, log = trust_polish(
        c.simulator, best, executor, trust_settings(c, budget, steps), state=state, note=note
    )
    return values, log, _earlier(state, t0)


def trust_settings(cal: Calibration, budget: Mapping[str, float], steps: int) -> TrustSettings:
    """The trust-region polish of a calibration: ``steps`` steps, the budget's perturbed runs,
    the median judged over as many runs as the report's ensemble."""
    return TrustSettings(
        steps=steps,
        perturbations=int(budget.get("trust_perturbations", 1000)),
        runs=cal.spec.report_replicates,
        seed=cal.spec.seed + 5,
    )


def _slice_targets(dst: TargetSet, src: TargetSet, a: int, b: int) -> None:
    """A view of targets a..b of a compiled set (no recompilation)."""
    dst.targets = src.targets[a:b]
    dst.compiled = src.compiled[a:b]
    dst.month_labels = src.month_labels[a:b]
    dst.low, dst.high, dst.peak_index = src.low[a:b], src.high[a:b], src.peak_index[a:b]
    dst.start, dst.n_days = src.start, src.n_days


def _scores(ts, stats, tempo_ids, fit_ids, hold_ids) -> dict[str, Any]:
    out = {"all_tempo_targets": score(ts, stats, tempo_ids).as_dict()}
    if hold_ids:
        out["fit_targets"] = score(ts, stats, fit_ids).as_dict()
        out["out_of_sample_targets"] = score(ts, stats, hold_ids).as_dict()
    return out


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and math.isinf(x):
        return None
    return str(x)


def _panels() -> list[tuple[str, str]]:
    from escalation.record.overlap import TEMPO_PANELS

    return list(TEMPO_PANELS)


# --------------------------------------------------------------------------- plots


def plot_marginals(cal: Calibration, posterior: pd.DataFrame, best: list[float], path: Path):
    """Weighted posterior histogram of each fitted value against its prior range."""
    names = cal.names
    n = len(names)
    ncols = 4
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(14, 2.3 * nrows + 0.8), squeeze=False)
    for k, name in enumerate(names):
        ax = axes[k // ncols][k % ncols]
        prior = cal.spec.parameters[name]
        lo, hi = prior.from_unit(0.0), prior.from_unit(1.0)
        bins = np.geomspace(lo, hi, 21) if prior.prior == "loguniform" else np.linspace(lo, hi, 21)
        ax.hist(
            posterior[name],
            bins=bins,
            weights=posterior["weight"],
            color="#1f5fa8",
            alpha=0.75,
            label="posterior",
        )
        ax.axhline(1 / 20, color="#999999", ls="--", lw=1, label="uniform prior (per bin)")
        ax.axvline(best[k], color="#c0392b", lw=1.5, label="best set")
        if prior.prior == "loguniform":
            ax.set_xscale("log")
            # plain labels at 1, 2 and 5 of each decade (the default labels the minor ticks
            # too, in a larger font, and they run into each other)
            ax.xaxis.set_major_locator(mticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(mticker.FormatStrFormatter("%g"))
            ax.xaxis.set_minor_formatter(mticker.NullFormatter())
        ax.set_xlim(lo, hi)
        ax.set_title(
            name.replace("militia_defaults.", "all militias: ").replace("militias.", ""),
            fontsize=8.5,
            loc="left",
        )
        ax.tick_params(labelsize=7.5)
        ax.set_yticks([])
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncol=3, fontsize=9, frameon=False)
    fig.suptitle(
        f"Posterior marginals ({len(posterior)} particles, weighted): {cal.spec.name}",
        fontsize=12,
        x=0.01,
        ha="left",
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.7 / fig.get_figheight()))  # room for the title
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_pairs(cal: Calibration, posterior: pd.DataFrame, path: Path, most: int = 7) -> None:
    """Pairs of the fitted values that the data pin down most (narrowest posteriors)."""
    spread = {}
    for name in cal.names:
        prior = cal.spec.parameters[name]
        u = posterior[name].map(prior.to_unit)
        spread[name] = float(np.sqrt(np.cov(u, aweights=posterior["weight"])))
    names = sorted(spread, key=spread.get)[:most]
    n = len(names)
    fig, axes = plt.subplots(n, n, figsize=(1.9 * n + 1, 1.9 * n + 1), squeeze=False)
    w = posterior["weight"].to_numpy()
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ax = axes[i][j]
            if i == j:
                ax.hist(posterior[a], bins=20, weights=w, color="#1f5fa8", alpha=0.75)
                ax.set_yticks([])
            elif i > j:
                ax.scatter(
                    posterior[b], posterior[a], s=6 + 400 * w, alpha=0.5, color="#1f5fa8", lw=0
                )
            else:
                ax.axis("off")
                continue
            if i == n - 1:
                ax.set_xlabel(_short(b), fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(_short(a), fontsize=7)
            ax.tick_params(labelsize=6)
    fig.suptitle(
        "Posterior pairs of the best-identified values (dot size: weight)",
        fontsize=11,
        x=0.01,
        ha="left",
    )
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _short(name: str) -> str:
    return name.replace("militia_defaults.", "").replace("militias.", "").replace("context.", "")


def plot_posterior_tempo(cal: Calibration, monthly: pd.DataFrame, path: Path) -> None:
    """Simulated tempo under the posterior (one run per draw) against the record."""
    from escalation.viz.tempo import RecordOverlay, plot_tempo

    overlay = RecordOverlay(cal.record, cal.scenario)
    fig = plot_tempo(
        monthly,
        cal.scenario,
        overlay=overlay,
        path=path,
        title=f"Calibrated tempo under the posterior against the record ({cal.spec.name})",
    )
    plt.close(fig)


# --------------------------------------------------------------------------- report


def write_report(
    cal: Calibration,
    out: Path,
    scores: dict[str, Any],
    targets: pd.DataFrame,
    phases: pd.DataFrame,
    episodes: pd.DataFrame,
    candidates: pd.DataFrame,
    budget: str | dict[str, float],
) -> None:
    """report.md: what was fitted, how well, against what, and what misses."""
    c = scores["calibrated"]["all_tempo_targets"]
    p = scores["posterior_predictive"]["all_tempo_targets"]
    lines = [
        f"# Calibration report: {cal.spec.name}",
        "",
        cal.spec.description.strip(),
        "",
        f"Scenario `{cal.spec.scenario}`, {len(cal.names)} fitted values, "
        f"{len(cal.fit_targets)} fit targets"
        + (f" (windows ending by {cal.spec.fit_until})" if cal.spec.fit_until else "")
        + (
            f" and {n_phases} phase directions"
            if (n_phases := len(cal.simulator.targets.targets) - len(cal.fit_targets))
            else ""
        )
        + f"; budget `{budget}`; {scores['elapsed_minutes']} minutes.",
        "",
        "## Summary",
        "",
        f"- Calibrated ensemble ({cal.spec.report_replicates} runs at the best parameter set, "
        f"`best.yaml`): median inside the observed range for **{c['hits']} of {c['targets']} "
        f"tempo targets ({c['hit_rate']:.0%})**; the observed value lies in the ensemble's 90% "
        f"interval for {c['observed_in_90pct_interval']}. Counting exact counts as met when the "
        f"median lies within their 90% Poisson sampling interval (N +- 1.645 sqrt N): "
        f"{c['hits_within_sampling_error']} of {c['targets']}.",
        f"- Posterior predictive ensemble (one run per posterior draw): {p['hits']} of "
        f"{p['targets']} ({p['hit_rate']:.0%}); observed value in the 90% interval for "
        f"{p['observed_in_90pct_interval']}.",
        f"- Phase changes reproduced (direction of the median rate): "
        f"**{scores['phases']['reproduced']} of {scores['phases']['changes']}**.",
    ]
    if "out_of_sample_targets" in scores["calibrated"]:
        o = scores["calibrated"]["out_of_sample_targets"]
        f = scores["calibrated"]["fit_targets"]
        lines.append(
            f"- Out of sample (targets ending after {cal.spec.fit_until}): {o['hits']} of "
            f"{o['targets']} ({o['hit_rate']:.0%}), RMS distance {o['rms_distance_of_medians']};"
            f" in sample: {f['hits']} of {f['targets']} ({f['hit_rate']:.0%})."
        )
    lines += [
        "",
        "## Scores against null models",
        "",
        "Hit rate: share of tempo targets whose ensemble median lies inside the observed range. "
        "Distance: RMS over targets of the log-scale gap between the median and the observed "
        "range (0 inside).",
        "",
        "| model | targets hit | hit rate | hit within sampling error | observed in 90% "
        "interval | RMS distance |",
        "|---|---|---|---|---|---|",
    ]
    labels = {
        "calibrated": "agents, calibrated (best set)",
        "posterior_predictive": "agents, posterior predictive",
        "null_phase_blind": "agents without the timeline, fitted the same way",
        "null_constant_rate": "constant rate per series, fitted",
    }
    for key, label in labels.items():
        if key in scores:
            s = scores[key]["all_tempo_targets"]
            lines.append(
                f"| {label} | {s['hits']}/{s['targets']} | {s['hit_rate']:.0%} | "
                f"{s['hits_within_sampling_error']} | {s['observed_in_90pct_interval']} | "
                f"{s['rms_distance_of_medians']} |"
            )
    if "out_of_sample_targets" in scores["calibrated"]:
        lines += [
            "",
            "Out-of-sample targets only:",
            "",
            "| model | targets hit | hit rate | RMS distance |",
            "|---|---|---|---|",
        ]
        for key, label in labels.items():
            if key in scores and "out_of_sample_targets" in scores[key]:
                s = scores[key]["out_of_sample_targets"]
                lines.append(
                    f"| {label} | {s['hits']}/{s['targets']} | {s['hit_rate']:.0%} | "
                    f"{s['rms_distance_of_medians']} |"
                )
    full = _full_fit_scores(cal, out)
    if full is not None:
        lines += ["", f"Full-period fit on the same out-of-sample targets: {full}."]
    misses = targets[~targets["hit"]]
    lines += [
        "",
        "## Phase changes",
        "",
        markdown_table(
            phases,
            [
                "phase",
                "series",
                "observed",
                "simulated_change",
                "p05",
                "p95",
                "share_of_runs_in_direction",
                "reproduced",
            ],
        ),
        "",
        f"## Targets missed ({len(misses)})",
        "",
        markdown_table(
            misses,
            ["id", "series", "window", "statistic", "observed", "median", "p05", "p95", "distance"],
        )
        if len(misses)
        else "None.",
        "",
        "## All tempo targets",
        "",
        markdown_table(
            targets,
            ["id", "role", "statistic", "window", "observed", "median", "p05", "p95", "hit"],
        ),
        "",
        "## Dated incidents (episodes)",
        "",
        "Counts over less than 28 days are incidents, not tempo: a stochastic model is not "
        "expected to put one on its day. Share of calibrated runs in which each happened as "
        "reported (not fitted):",
        "",
        markdown_table(episodes, ["id", "window", "observed", "share_of_runs"]),
        "",
        "## Fit",
        "",
        f"ABC-SMC: {scores['abc']['generations']} generations, {scores['abc']['simulations']} "
        f"simulations; stopped: {scores['abc']['stopped']}. Final tolerance "
        f"{scores['abc']['final_epsilon']:.3f}, effective sample size "
        f"{scores['abc']['final_ess']:.0f}.",
        "",
        markdown_table(pd.DataFrame(scores["abc"]["history"]).round(3)),
        "",
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
            f"with common seeds ({_refine_summary(out)}; `refinement.csv` lists the accepted "
            "moves), then"
            if (out / "refine.json").exists()
            else " (no coordinate search)"
        )
        + " by trust-region steps that move every value at once, on a local linear model of each "
        "target's chances fitted to runs at random perturbations, each step kept only if the "
        f"ensemble there is expected to meet more targets ({_trust_summary(cal, out)}; "
        "`trust.csv` lists the steps); the scores above come from fresh seeds:",
        "",
        markdown_table(
            pd.DataFrame(
                {
                    "value": list(scores["best"]),
                    "fitted": [f"{v:.4g}" for v in scores["best"].values()],
                }
            )
        ),
        "",
        "Files: `posterior.csv` (weighted sample), `best.yaml` (scenario overlay), `targets.csv`,"
        " `targets_posterior_predictive.csv`, `phases.csv`, `episodes.csv`, `scores.json`, "
        "`tempo_posterior.png`, `marginals.png`, `pairs.png`, `abc/` (every simulation, every "
        "generation; resumable).",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")


def _refine_summary(out: Path) -> str:
    """How far the coordinate search went, from its saved state."""
    path = out / "refine.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    sweeps = int(saved["sweep"]) - 1
    moves = len(saved["log"]) - 1
    first, last = saved["log"][0], saved["log"][-1]
    return (
        f"{sweeps} sweeps over {len(saved['u'])} values, {moves} moves accepted, expected fit "
        f"criteria met from {first['hits']:.1f} to {last['hits']:.1f}"
        + ("; stopped when no step improved" if saved["done"] else "")
    )


def _trust_summary(cal: Calibration, out: Path) -> str:
    """How far the trust-region polish went, from its saved state."""
    path = out / POLISH_STATE[0]
    if not path.exists():
        return "not run"
    log = json.loads(path.read_text(encoding="utf-8"))["log"]
    if not log:
        return "no step taken"
    kept = [e for e in log if e["accepted"]]
    last = kept[-1]["candidate_hits"] if kept else log[0]["centre_hits"]
    return (
        f"{len(log)} steps, {len(kept)} kept, expected fit criteria met by the median of "
        f"{cal.spec.report_replicates} runs from {log[0]['centre_hits']:.1f} to {last:.1f}"
    )


def _full_fit_scores(cal: Calibration, out: Path) -> str | None:
    """For an out-of-sample fit: the full fit's score on the same held-out targets, if found."""
    if cal.spec.fit_until is None:
        return None
    full_dir = out.parent / cal.spec.name
    targets_csv = full_dir / "targets.csv"
    if not targets_csv.exists():
        return None
    full = pd.read_csv(targets_csv)
    held = {t.id for t in cal.holdout_targets}
    sub = full[full["id"].isin(held)]
    if sub.empty:
        return None
    return f"{int(sub['hit'].sum())} of {len(sub)} hit ({sub['hit'].mean():.0%}), from {full_dir}"
