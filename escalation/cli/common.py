"""Helpers shared by the commands."""

from __future__ import annotations


def progress_bar(total: int, desc: str, disable: bool):
    """A progress bar on stderr (imported late: keeps ``escalation --help`` fast)."""
    from tqdm import std
    from tqdm.auto import tqdm

    std.tqdm.monitor_interval = 0  # no monitor thread: worker processes are forked
    return tqdm(total=total, desc=desc, unit="run", disable=disable, dynamic_ncols=True)
