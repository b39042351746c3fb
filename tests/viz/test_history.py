"""The record plots render."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import matplotlib.pyplot as plt

from escalation.record.reconstruct import Reconstruction
from escalation.record.types import Record
from escalation.viz.history import plot_history, write_history_png


def test_write_history_png(record: Record, recon: Reconstruction, tmp_path: Path) -> None:
    out = write_history_png(record, tmp_path / "fig" / "history.png", reconstruction=recon)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000


def test_plot_history_on_given_axes(record: Record, recon: Reconstruction) -> None:
    fig, ax = plt.subplots()
    events = [(date(2020, 1, 3), "Soleimani killed"), (date(2021, 10, 10), "elections")]
    out = plot_history(record, ax, events=events, series="acled_us_convoy", reconstruction=recon)
    assert out is ax
    assert ax.get_ylabel() == "attacks per month"
    texts = {t.get_text().strip() for t in ax.texts}
    assert "Soleimani killed" in texts and "Truce" in texts
    assert len(ax.lines) > 5 and ax.get_ylim()[0] == 0
    plt.close(fig)
