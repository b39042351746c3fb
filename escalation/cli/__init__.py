"""The ``escalation`` command line: a thin adapter over the layers below, one module per
command (``run``, ``compare``, ``sweep``, ``validate`` with ``schema``, ``dashboard``,
``history``, ``calibrate``), their shared options in ``common``, assembled by ``main``."""
