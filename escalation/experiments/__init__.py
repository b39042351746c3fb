"""Running the model.

* ``runner``: one run (``run``, the function everything goes through), ensembles, run totals.
* ``executors``: local processes or a Dask cluster, results identical either way.
* ``sweep``: parameter spaces (grid, Latin hypercube, Sobol), resumable sweeps, sensitivity.
* ``compare``: scenarios on common seeds, paired differences per period with intervals.
* ``manifest``: what a result was made from, so it can be remade.

Imports the layers below: scenario, model, observe, record.
"""
