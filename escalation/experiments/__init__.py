"""Running the model: one run and ensembles (``runner.py``), local and Dask executors,
sweeps, comparisons, and the manifests and tables they write.

Imports the layers below: scenario, model, observe, record."""
