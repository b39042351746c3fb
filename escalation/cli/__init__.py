"""The ``escalation`` command line: a thin adapter over the layers below."""
