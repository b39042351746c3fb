"""Fitting a scenario to the record, with a posterior, and scoring the fit.

The stages, in the order :func:`~escalation.calibration.pipeline.run_calibration` runs them:

1. ``spec``, ``loading``: read the calibration file (priors, budget) and split the record's
   targets into those fitted, those held out and the dated incidents (``phases`` adds the
   expected phase changes as targets).
2. ``simulate``: the one run function: parameter values and seeds in, target statistics out.
3. ``abc``: ABC-SMC, a weighted posterior sample (resumable).
4. ``select``: the best parameter set among the best particles, the posterior mean and any
   start values, ranked by expected hits (``scoring``).
5. ``polish``: coordinate search from that set; ``trust``: trust-region steps after it.
6. ``scoring``: the calibrated and posterior predictive ensembles against every target, by hit
   counts of the median and (``proper``) the censored CRPS of the whole ensemble.
7. ``nulls``: the null models (agents without the timeline, constant rates; ``hawkes``:
   self-exciting counts), fitted and scored.
8. ``report``: report.md; ``overlay``: the best set as a scenario file.

``pipeline.run_calibration`` runs them in turn and returns a ``CalibrationResult``, from which
the command line draws the figures (``escalation.viz.calibration``). Every random draw comes from
a named stream under the calibration's master seed (``spec.STREAMS``).

Beside the stages, ``forest`` infers the same posterior by ABC random forests (one regression
forest per parameter on a reference table of prior runs), ``adjust`` corrects an ABC-SMC
population by local-linear regression, and ``recovery`` compares the methods on records the model
made at known values (docs/inference.md).

Imports the layers below: scenario, model, observe, record, experiments.
"""
