"""Every figure, each panel a function that draws on the axes it is given (``ax=None`` makes
a figure) and returns them.

* ``tempo``: simulated monthly tempo against the record (``draw_series``, ``plot_tempo``).
* ``compare``: paired differences per period (``plot_difference``, ``plot_comparison``).
* ``sweep``: responses, heatmaps and Sobol indices of a sweep.
* ``history``: the record itself (targets, reconstruction, phases, events).
* ``calibration``: posterior marginals and pairs, tempo under the posterior.

Imports the layers below; nothing below imports it.
"""
