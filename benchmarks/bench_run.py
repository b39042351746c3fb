"""One baseline run against the framework's floor, measured in the same process.

The floor is a bare Mesa model with the same number of agents and steps whose step only
collects data (the same number of model and militia reporters as the escalation model).
Prints the median wall time of each over several repetitions and their ratio, and the cost of one
simulation of the calibration (the scenario with every fitted value applied as an override,
re-validated, run, and its target statistics taken), split into its parts; and the time the
reconstruction of the whole record takes.

    .venv/bin/python benchmarks/bench_run.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from mesa import Agent, DataCollector, Model

from escalation import load_scenario, run
from escalation.model.militia import Militia
from escalation.model.model import MILITIA_REPORTERS, MODEL_REPORTERS, EscalationModel
from escalation.record import load_record, reconstruct

ROOT = Path(__file__).resolve().parent.parent


class BareAgent(Agent):
    """An agent with the attributes the reporters read, and nothing to decide."""

    stock_total = 0.0
    revenge = 0.0
    fear = 0.0
    grievance = 0.0
    compliance = 0.0
    observing = False


class BareMilitia(BareAgent):
    pass


def _constant(model: Model) -> float:
    return 0.0


class BareModel(Model):
    """Same agents and steps as the escalation model; a step only collects data."""

    def __init__(self, n_other: int, n_militias: int, seed: int) -> None:
        super().__init__(rng=seed)
        for _ in range(n_other):
            BareAgent(self)
        for _ in range(n_militias):
            BareMilitia(self)
        reporters = {name: _constant for name in MODEL_REPORTERS}
        self.datacollector = DataCollector(
            model_reporters=reporters, agenttype_reporters={BareMilitia: MILITIA_REPORTERS}
        )

    def step(self) -> None:
        self.datacollector.collect(self)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument(
        "--calibration", default=str(ROOT / "calibrations" / "baseline.yaml"), metavar="FILE"
    )
    args = parser.parse_args()

    scenario = load_scenario(args.scenario)
    probe = EscalationModel(scenario, seed=0)
    n_steps = probe.n_steps
    n_militias = len(probe.agents_by_type[Militia])
    n_other = len(probe.agents) - n_militias

    def bare() -> None:
        model = BareModel(n_other, n_militias, seed=0)
        model.run_until(n_steps)

    def model_only() -> None:
        EscalationModel(scenario, seed=1).run()

    def full_run() -> None:
        run(scenario, seed=1)

    def with_tables() -> None:
        result = run(scenario, seed=1)
        assert len(result.events) and len(result.monthly)  # built on first read

    from escalation.calibration.loading import load_calibration, load_start

    cal = load_calibration(args.calibration)
    fitted = Path(args.calibration).parent / "fitted" / cal.spec.name / "scores.json"
    sim = cal.simulator
    values = load_start(fitted, cal) if fitted.exists() else sim.values([0.5] * len(sim.names))

    def configure() -> None:
        sim.configure(values)

    def fit_simulation() -> None:
        sim.statistics(values, 1)

    fns = (bare, model_only, full_run, with_tables, configure, fit_simulation)
    for fn in fns:  # warm up imports and caches
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(args.repeats):  # interleaved, so load on the machine hits all alike
        for fn, out in zip(fns, times, strict=True):
            out.append(timed(fn))
    f, m, r, t, c, s = (statistics.median(x) for x in times)
    print(
        f"scenario: {scenario.name}, {n_steps} steps, {len(probe.agents)} agents, "
        f"{args.repeats} repeats (medians)"
    )
    print(f"bare Mesa model (collect only):   {f * 1000:8.1f} ms")
    print(f"model, Mesa DataCollector on:     {m * 1000:8.1f} ms   ratio {m / f:5.2f}")
    print(f"one baseline run (run(): steps,   {r * 1000:8.1f} ms   ratio {r / f:5.2f}")
    print("  observed series, run totals)")
    print(f"  and its event and monthly tables {t * 1000:8.1f} ms   ratio {t / f:5.2f}")
    print(
        f"one simulation of the calibration  {s * 1000:8.1f} ms   ratio {s / f:5.2f}   "
        f"({len(values)} fitted values, {len(sim.targets.targets)} targets)"
    )
    print(f"  of which applying the values     {c * 1000:8.1f} ms   share {c / s:5.2f}")
    recon = reconstruct(load_record())
    print(f"reconstruction of the record:      {recon.seconds:8.1f} s (goal: under 20 s)")


if __name__ == "__main__":
    main()
