"""``escalation calibrate`` as a sequence of stages: fit (ABC-SMC, best-set choice, coordinate
search, trust-region polish), score the calibrated and posterior predictive ensembles, fit and
score the null models, and write the tables, scores and report."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from escalation.calibration.abc import Generation, Progress, Settings, abc_smc, smoothed_draws
from escalation.calibration.hawkes import fit_hawkes, hawkes_statistics, strike_days
from escalation.calibration.loading import Calibration
from escalation.calibration.nulls import constant_rate_statistics, constant_rates, phase_blind
from escalation.calibration.overlay import best_overlay, tidy
from escalation.calibration.polish import refine
from escalation.calibration.report import ReportInputs, read_report_table, report_text
from escalation.calibration.rolling import (
    misses_summary,
    rolling_markdown,
    rolling_misses,
    rolling_table,
    stale_origins,
)
from escalation.calibration.scoring import (
    ReportSet,
    Roles,
    episode_table,
    model_scores,
    phase_table,
    report_set,
    target_table,
)
from escalation.calibration.select import choose_best, posterior_frame
from escalation.calibration.simulate import Simulator, distance_runner, repeated, simulate
from escalation.calibration.spec import budget_values
from escalation.calibration.tension import tension_table
from escalation.calibration.trust import TrustSettings, trust_polish
from escalation.experiments.executors import make_executor
from escalation.experiments.strikes import strike_effects, strike_events
from escalation.experiments.will import will_table
from escalation.files import folder_lock, read_json, write_json, write_table, write_text
from escalation.progress import QUIET, Bars, end_early
from escalation.record.overlap import TEMPO_PANELS
from escalation.seeds import Streams
from escalation.tables import find_table, read_table


class FitFiles(NamedTuple):
    """Where a fit keeps its resumable state in the output folder."""

    abc: str  # folder of its ABC-SMC
    refine: str  # state of its coordinate search
    trust: str  # state of its trust-region polish (its runs beside it, as .npz)


FIT = FitFiles("abc", "refine.json", "trust.json")
NULL_FIT = FitFiles("abc_null", "refine_null.json", "trust_null.json")
#: The label the phase-blind null's stages carry before their own.
NULL_LABEL = "null model, phase-blind agents"


class Plan(NamedTuple):
    """How much each stage of a fit does."""

    abc: Settings
    sweeps: int  # of the coordinate search (0: none)
    refine_runs: int  # runs per point of the coordinate search
    trust: TrustSettings  # steps 0: no trust-region polish


class _Context(NamedTuple):
    """What every stage of a calibration shares: its output folder, executor, progress bars,
    streams and the seeds of the scored runs."""

    out: Path
    executor: Any
    bars: Bars
    streams: Streams  # under the calibration's master seed (spec.STREAMS)
    report_seeds: list[int]  # the runs of every scored ensemble


class Fit(NamedTuple):
    """What the stages of a fit give."""

    gens: list[Generation]  # ABC-SMC's generations (the last is the posterior)
    candidates: pd.DataFrame  # the candidates for the best set, best first
    refinement: pd.DataFrame | None  # the coordinate search's accepted moves, if run
    trust: pd.DataFrame | None  # the trust-region polish's steps, if run
    best: list[float]
    earlier: float  # seconds its stages spent in earlier, interrupted runs


class Ensembles(NamedTuple):
    """The statistics of every report target in the calibrated and the posterior predictive
    ensembles, and the latter's monthly panels."""

    calibrated: np.ndarray
    posterior: np.ndarray
    monthly: pd.DataFrame


class Tables(NamedTuple):
    """The per-target, per-incident and per-phase tables of the calibrated ensemble, the
    per-target table of the posterior predictive one, what each timeline strike did at the
    best set (:func:`escalation.experiments.strikes.strike_effects`), and how freely the
    militias attack there (:func:`escalation.experiments.will.will_table`)."""

    targets: pd.DataFrame
    targets_posterior: pd.DataFrame
    episodes: pd.DataFrame
    phases: pd.DataFrame
    strikes: pd.DataFrame | None = None
    will: pd.DataFrame | None = None
    tension: pd.DataFrame | None = None  # targets the posterior predictive meets apart


class CalibrationResult(NamedTuple):
    """A finished calibration: its scores (as in scores.json), best set, posterior sample,
    tables, and the posterior predictive ensemble's monthly panels (for its plot)."""

    scores: dict[str, Any]
    best: list[float]
    posterior: pd.DataFrame
    tables: Tables
    candidates: pd.DataFrame
    monthly: pd.DataFrame


# --------------------------------------------------------------------------- settings


def settings_for(
    cal: Calibration, budget: str | Mapping[str, float], share: float = 1.0
) -> Settings:
    """ABC settings from a named budget, or a mapping with particles, simulations and minutes
    (scaled by ``share`` for null models)."""
    b = budget_values(budget)
    return Settings(
        particles=max(10, int(b["particles"] * (1.0 if share >= 1 else max(share * 2, 0.4)))),
        quantile=cal.spec.quantile,
        max_generations=cal.spec.generations,
        max_simulations=int(b["simulations"] * share),
        max_minutes=b["minutes"] * share,
        min_acceptance=cal.spec.min_acceptance,
        batch=32,
    )


def trust_settings(cal: Calibration, budget: Mapping[str, float], steps: int) -> TrustSettings:
    """The trust-region polish of a calibration: ``steps`` steps, the budget's perturbed runs,
    the median judged over as many runs as the report's ensemble."""
    return TrustSettings(
        steps=steps,
        perturbations=int(budget.get("trust_perturbations", 1000)),
        runs=cal.spec.report_replicates,
    )


def make_plan(
    cal: Calibration,
    budget: str | Mapping[str, float],
    polish_sweeps: int | None = None,
    polish_steps: int | None = None,
) -> Plan:
    """The fit's stages on a budget (``polish_sweeps``, ``polish_steps``: the polishes' sweeps
    and steps, overriding the budget's)."""
    b = budget_values(budget)
    sweeps = int(b.get("refine_sweeps", 1)) if polish_sweeps is None else polish_sweeps
    steps = int(b.get("trust_steps", 0)) if polish_steps is None else polish_steps
    return Plan(
        settings_for(cal, budget),
        sweeps,
        int(b.get("refine_seeds", 8)),
        trust_settings(cal, b, steps),
    )


def null_plan(cal: Calibration, budget: str | Mapping[str, float], plan: Plan) -> Plan:
    """The phase-blind null model's fit: the main fit's stages on its share of the budget."""
    share = cal.spec.null_budget_share
    return plan._replace(
        abc=settings_for(cal, budget, share),
        sweeps=max(1, round(plan.sweeps * share)) if plan.sweeps else 0,
        trust=replace(plan.trust, steps=round(plan.trust.steps * share)),
    )


# --------------------------------------------------------------------------- stages


def _earlier(state: Path, t0: float) -> float:
    """Wall time spent by earlier, interrupted runs of a stage: the total its state file records
    less this call's (since ``t0``)."""
    saved = read_json(state)
    total = float(saved.get("elapsed", 0.0)) if isinstance(saved, dict) else 0.0
    return max(0.0, total - (time.monotonic() - t0))


def fit_stages(
    c: Calibration,
    plan: Plan,
    files: FitFiles,
    identity: dict[str, Any],
    ctx: _Context,
    streams: Streams,
    start: Sequence[float] | None = None,
) -> Fit:
    """ABC-SMC (resumed if ``files``' folder holds an unfinished fit), the choice of the best
    set (among the best particles, the posterior mean and ``start``), then its polishes; each
    stage draws from its own stream under ``streams``."""
    t0 = time.monotonic()
    folder = ctx.out / files.abc
    runner = distance_runner(c.simulator, ctx.executor)
    with ctx.bars.bar("fit (ABC-SMC)", plan.abc.max_simulations, unit="sim") as bar:
        gens = abc_smc(
            c.names,
            runner,
            plan.abc,
            folder,
            streams=streams.child("abc"),
            on_progress=lambda p: _show_abc(bar, p),
            identity=identity,
        )
    earlier = _earlier(folder / "state.json", t0)
    choice = choose_best(
        c, gens[-1], ctx.executor, streams.child("candidates"), start, bars=ctx.bars
    )
    best, refinement, trust = choice.best, None, None
    if plan.sweeps:
        t0 = time.monotonic()
        state = ctx.out / files.refine
        best, refinement = refine(
            c.simulator,
            best,
            ctx.executor,
            streams.child("refine"),
            runs=plan.refine_runs,
            sweeps=plan.sweeps,
            state=state,
            bars=ctx.bars,
        )
        earlier += _earlier(state, t0)
    if plan.trust.steps:
        t0 = time.monotonic()
        state = ctx.out / files.trust
        best, trust = trust_polish(
            c.simulator,
            best,
            ctx.executor,
            plan.trust,
            streams.child("trust"),
            state=state,
            bars=ctx.bars,
        )
        earlier += _earlier(state, t0)
    return Fit(gens, choice.table, refinement, trust, best, earlier)


def _show_abc(bar: Any, p: Progress) -> None:
    """ABC-SMC's bar: simulations so far, and the generation, tolerance, acceptance and
    distinct particles beside them; full when it stops (its budget is a ceiling)."""
    bar.n = p.simulations
    bar.set_postfix(
        gen=p.generation,
        eps=f"{p.epsilon:.3g}",
        accepted=f"{p.accepted}/{p.proposed}",
        ess=f"{p.last.ess:.0f}" if p.last is not None else "-",
        refresh=False,
    )
    if p.done:
        end_early(bar)
    bar.refresh()


def write_fit(cal: Calibration, fit: Fit, posterior: pd.DataFrame, out: Path) -> None:
    """The fit's files: posterior sample, candidates, polish logs, best set as a scenario."""
    write_table(out / "posterior.csv", posterior)
    if fit.refinement is not None:
        write_table(out / "refinement.csv", fit.refinement)
    elif not (out / FIT.refine).exists():  # no coordinate search: no stale table of one
        (out / "refinement.csv").unlink(missing_ok=True)
    if fit.trust is not None:
        write_table(out / "trust.csv", fit.trust)
    values = fit.candidates["values"].map(
        lambda v: json.dumps(dict(zip(cal.names, v, strict=True)))
    )
    write_table(out / "candidates.csv", fit.candidates.assign(values=values))
    write_text(out / "best.yaml", best_overlay(cal, fit.best, out))


def run_ensembles(cal: Calibration, rs: ReportSet, fit: Fit, ctx: _Context) -> Ensembles:
    """The calibrated ensemble (every run at the best set) and the posterior predictive one (a
    draw of the posterior's kernel density estimate per run), on the report's targets and
    seeds."""
    rsim = Simulator(cal.scenario, cal.simulator.series, rs.ts, cal.names, cal.simulator.priors)
    seeds = ctx.report_seeds
    with ctx.bars.counting(ctx.executor, "calibrated ensemble", len(seeds)) as executor:
        calibrated = simulate(rsim, repeated(fit.best, seeds), seeds, executor).stats
    post = fit.gens[-1]
    smoothed = smoothed_draws(post.u, post.weight, len(seeds), ctx.streams.child("posterior").rng())
    draws = [cal.simulator.values(u) for u in smoothed]
    panels = [p for p, _ in TEMPO_PANELS]
    label = "posterior predictive ensemble"
    with ctx.bars.counting(ctx.executor, label, len(seeds)) as executor:
        predictive = simulate(rsim, draws, seeds, executor, panels=panels)
    assert predictive.monthly is not None
    return Ensembles(calibrated, predictive.stats, predictive.monthly)


def make_tables(cal: Calibration, rs: ReportSet, ens: Ensembles) -> Tables:
    """The report's tables of the ensembles."""
    nt, ne = rs.n_tempo, rs.n_episodes
    roles = Roles.of(cal).labels()
    return Tables(
        targets=target_table(rs.tempo, ens.calibrated[:, :nt], roles),
        targets_posterior=target_table(rs.tempo, ens.posterior[:, :nt], roles),
        episodes=episode_table(rs.incidents, ens.calibrated[:, nt : nt + ne]),
        phases=phase_table(rs.changes, ens.calibrated, nt + ne),
        tension=tension_table(rs.tempo, ens.posterior[:, :nt]),
    )


def write_tables(tables: Tables, out: Path) -> None:
    """targets.csv, targets_posterior_predictive.csv, episodes.csv, phases.csv, strikes.csv and
    will.csv."""
    write_table(out / "targets.csv", tables.targets)
    write_table(out / "targets_posterior_predictive.csv", tables.targets_posterior)
    write_table(out / "episodes.csv", tables.episodes)
    write_table(out / "phases.csv", tables.phases)
    if tables.strikes is not None:
        write_table(out / "strikes.csv", tables.strikes)
    for name, frame in (("will", tables.will), ("tension", tables.tension)):
        if frame is not None:
            write_table(out / f"{name}.csv", frame)


#: runs with and without each timeline strike at the best set
STRIKE_REPLICATES = 100


def strike_table(cal: Calibration, best: Sequence[float], ctx: _Context) -> pd.DataFrame:
    """What each strike on the calibrated scenario's timeline did: attacks on US targets in the
    30 days after it, with and without it, on the same seeds."""
    scenario = cal.simulator.configure(best).scenario
    seed = ctx.streams.child("strikes").seed()
    strikes = len(strike_events(scenario))
    if not strikes:  # nothing to run
        return strike_effects(scenario, STRIKE_REPLICATES, seed, executor=ctx.executor)
    total = (1 + strikes) * STRIKE_REPLICATES
    with ctx.bars.counting(ctx.executor, "what the timeline's strikes did", total) as executor:
        return strike_effects(scenario, STRIKE_REPLICATES, seed, executor=executor)


#: runs at the best set whose militias' odds of attacking are sampled
WILL_REPLICATES = 40


def will_of(cal: Calibration, best: Sequence[float], ctx: _Context) -> pd.DataFrame:
    """How freely the militias attack at the best set: their odds of attacking each target
    class when one is within reach, by half-year (the report's saturation table)."""
    scenario = cal.simulator.configure(best).scenario
    seed = ctx.streams.child("will").seed()
    with ctx.bars.counting(ctx.executor, "how freely the militias attack", WILL_REPLICATES) as ex:
        return will_table(scenario, WILL_REPLICATES, seed, executor=ex)


class NullScores(NamedTuple):
    """The null models' scores, and the seconds the phase-blind fit spent in earlier runs."""

    scores: dict[str, Any]
    earlier: float


def score_nulls(cal: Calibration, rs: ReportSet, plan: Plan, ctx: _Context) -> NullScores:
    """Scores of the null models on the tempo targets: constant rates, self-exciting (Hawkes)
    counts started from them (its fitted values per series in hawkes.csv and in its scores),
    and the phase-blind agents unless the calibration gives them no budget."""
    tempo, roles, seeds = rs.tempo, Roles.of(cal), ctx.report_seeds
    rates = constant_rates(cal.simulator.targets, cal.n_days, bars=ctx.bars)
    stats = constant_rate_statistics(rates, tempo, cal.n_days, seeds)
    scores = {"null_constant_rate": model_scores(tempo, stats, roles)}
    strikes = strike_days(cal.scenario)
    seed = ctx.streams.child("hawkes").seed()
    hawkes = fit_hawkes(cal.simulator.targets, cal.n_days, strikes, rates, seed, bars=ctx.bars)
    write_table(ctx.out / "hawkes.csv", hawkes.table(cal.series_names))
    hawkes_stats = hawkes_statistics(hawkes, tempo, seeds, bars=ctx.bars)
    scores["null_hawkes"] = {
        **model_scores(tempo, hawkes_stats, roles),
        "fit_rms_distance": {
            "constant_rate_start": round(hawkes.start_distance, 4),
            "fitted": round(hawkes.distance, 4),
        },
        "parameters": hawkes.parameters(cal.series_names),
    }
    if cal.spec.null_budget_share <= 0:
        return NullScores(scores, 0.0)
    blind = phase_blind(cal)
    identity = {**cal.identity(), "null": "phase_blind"}
    bctx = ctx._replace(bars=ctx.bars.within(NULL_LABEL))
    fit = fit_stages(
        blind, plan, NULL_FIT, identity, bctx, ctx.streams.child("nulls").child("phase_blind")
    )
    bsim = Simulator(
        blind.scenario, cal.simulator.series, tempo, blind.names, blind.simulator.priors
    )
    with bctx.bars.counting(ctx.executor, "ensemble at its best set", len(seeds)) as executor:
        stats = simulate(bsim, repeated(fit.best, seeds), seeds, executor).stats
    scores["null_phase_blind"] = model_scores(tempo, stats, roles)
    return NullScores(scores, fit.earlier)


# --------------------------------------------------------------------------- the pipeline


def discard(out: Path) -> None:
    """Remove the resumable state of every fit in ``out`` (to start afresh)."""
    for files in (FIT, NULL_FIT):
        folder = out / files.abc
        if folder.exists():
            for f in folder.iterdir():
                f.unlink()
        for name in (files.refine, files.trust):
            (out / name).unlink(missing_ok=True)
        (out / files.trust).with_suffix(".npz").unlink(missing_ok=True)


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
    bars: Bars = QUIET,
) -> CalibrationResult:
    """The whole calibration, writing its files to ``out`` (its plots are drawn from the result
    by the viz layer). ``polish_sweeps`` overrides the budget's sweeps of the coordinate search
    that polishes the best set, and ``polish_steps`` its steps of the trust-region polish that
    follows; ``start`` (values for every fitted name) joins the candidates for the best set.
    ``bars`` shows each stage's progress (none by default); results do not depend on it."""
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    with folder_lock(out):  # a second process on this folder stops here, naming this one
        if restart:
            discard(out)
        plan = make_plan(cal, budget, polish_sweeps, polish_steps)
        executor = make_executor(jobs, scheduler)
        streams = Streams(cal.spec.seed)
        report_seeds = streams.child("report").seeds(cal.spec.report_replicates)
        ctx = _Context(out, executor, bars, streams, report_seeds)
        try:
            fit = fit_stages(cal, plan, FIT, cal.identity(), ctx, streams, start)
            fit = fit._replace(best=[tidy(v) for v in fit.best])  # as written to best.yaml
            posterior = posterior_frame(cal, fit.gens[-1])
            write_fit(cal, fit, posterior, out)
            rs = report_set(cal)
            ens = run_ensembles(cal, rs, fit, ctx)
            tables = make_tables(cal, rs, ens)._replace(
                strikes=strike_table(cal, fit.best, ctx), will=will_of(cal, fit.best, ctx)
            )
            write_tables(tables, out)
            roles, nt = Roles.of(cal), rs.n_tempo
            scores: dict[str, Any] = {
                "calibrated": model_scores(rs.tempo, ens.calibrated[:, :nt], roles),
                "posterior_predictive": model_scores(rs.tempo, ens.posterior[:, :nt], roles),
            }
            nulls = score_nulls(cal, rs, null_plan(cal, budget, plan), ctx)
            scores |= nulls.scores
            scores |= summary_scores(cal, fit, tables, out, budget)
            # wall time of the whole fit, counting the time of interrupted earlier runs
            elapsed = time.monotonic() - started + fit.earlier + nulls.earlier
            scores["elapsed_minutes"] = round(elapsed / 60, 2)
            scores["written"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            write_json(out / "scores.json", scores)
            inputs = ReportInputs(
                cal=cal,
                scores=scores,
                targets=tables.targets,
                phases=tables.phases,
                episodes=tables.episodes,
                strikes=tables.strikes,
                will=tables.will,
                tension=tables.tension,
                candidates=fit.candidates,
                budget=budget,
                refine_state=read_json(out / FIT.refine),
                trust_state=read_json(out / FIT.trust),
                full_fit=full_fit_scores(cal, out),
                rolling=rolling_text(cal, out),
            )
            write_text(out / "report.md", report_text(inputs))
            return CalibrationResult(
                scores, fit.best, posterior, tables, fit.candidates, ens.monthly
            )
        finally:
            executor.close()


def summary_scores(
    cal: Calibration, fit: Fit, tables: Tables, out: Path, budget: str | Mapping[str, float]
) -> dict[str, Any]:
    """The scores of phases and incidents, how ABC-SMC went, the best set and the settings."""
    post = fit.gens[-1]
    state = read_json(out / FIT.abc / "state.json")
    assert state is not None  # the ABC stage writes it as it runs
    return {
        "phases": {
            "changes": len(tables.phases),
            "reproduced": int(tables.phases["reproduced"].sum()),
        },
        "episodes_mean_share": round(float(tables.episodes["share_of_runs"].mean()), 3),
        "abc": {
            "generations": len(fit.gens),
            "simulations": state.get("simulations"),
            "stopped": state.get("stopped"),
            "final_epsilon": post.epsilon,
            "final_ess": post.ess,
            "history": state.get("history"),
        },
        "best": dict(zip(cal.names, fit.best, strict=True)),
        "fit_until": str(cal.spec.fit_until) if cal.spec.fit_until else None,
        "budget": budget,
    }


def full_fit_scores(cal: Calibration, out: Path) -> str | None:
    """For an out-of-sample fit: the full fit's score on the same held-out targets, if found."""
    if cal.spec.fit_until is None:
        return None
    full_dir = out.parent / cal.spec.name
    if find_table(full_dir, "targets") is None:
        return None
    full = read_table(full_dir, "targets")
    held = {t.id for t in cal.holdout_targets}
    sub = full[full["id"].isin(held)]
    if sub.empty:
        return None
    return f"{int(sub['hit'].sum())} of {len(sub)} hit ({sub['hit'].mean():.0%}), from {full_dir}"


def rolling_text(cal: Calibration, out: Path) -> str | None:
    """For a full fit: the table of the same calibration's rolling origins beside it, if they
    have been fitted (``escalation calibrate --rolling``)."""
    if cal.spec.fit_until is not None:
        return None
    stale = stale_origins(out.parent, cal.spec.name, set(cal.spec.parameters))
    if stale:
        return (
            f"The fits at {', '.join(stale)} fitted other values than this calibration does (it "
            "has changed since): their scores are not shown. Refit them with `escalation "
            f"calibrate ... --rolling --restart`.\n"
        )
    table = rolling_table(out.parent, cal.spec.name)
    if table.empty:
        return None
    misses = misses_summary(rolling_misses(out.parent, cal.spec.name))
    return rolling_markdown(table) + ("\n" + "\n".join(misses) + "\n" if misses else "")


def rewrite_report(cal: Calibration, out: Path) -> None:
    """Write a finished fit's report.md again from its saved files (after the rolling origins
    it reports on have been fitted)."""

    def table(name: str) -> pd.DataFrame | None:
        return read_report_table(out / f"{name}.csv") if (out / f"{name}.csv").exists() else None

    scores = read_json(out / "scores.json")
    if scores is None:
        raise FileNotFoundError(f"{out / 'scores.json'}: the fit has not finished")
    inputs = ReportInputs(
        cal=cal,
        scores=scores,
        targets=table("targets"),
        phases=table("phases"),
        episodes=table("episodes"),
        strikes=table("strikes"),
        will=table("will"),
        tension=table("tension"),
        candidates=table("candidates"),
        budget=scores["budget"],
        refine_state=read_json(out / FIT.refine),
        trust_state=read_json(out / FIT.trust),
        full_fit=full_fit_scores(cal, out),
        rolling=rolling_text(cal, out),
    )
    write_text(out / "report.md", report_text(inputs))
