"""The documented caps on the size of the work a command starts: past them a mistyped number
(``-n 1000000000``, ``samples: 1e9``, a grid of 1,000 levels per parameter) is refused before
anything runs, unless the user passes ``--force``."""

from __future__ import annotations

#: Most replicates ``escalation run`` and ``escalation compare`` start.
MAX_REPLICATES = 10_000
#: Most points a sweep's design may have (grid: the product of the levels; lhs: samples;
#: sobol: samples x (parameters + 2)).
MAX_POINTS = 10_000
#: Most runs (points x replicates) one sweep may ask for.
MAX_RUNS = 100_000
#: Most sweeps of the coordinate search, and most trust-region steps, one calibration asks for
#: (each costs thousands of runs).
MAX_POLISH = 100
