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


def test_calibration_plots_draw_on_given_axes_or_their_own() -> None:
    import numpy as np
    import pandas as pd

    from escalation.calibration.spec import Prior
    from escalation.viz.calibration import plot_marginal, plot_pair

    rng = np.random.default_rng(0)
    post = pd.DataFrame(
        {"a": rng.uniform(0.1, 2.0, 50), "b": rng.uniform(-1.0, 1.0, 50), "weight": 1 / 50}
    )
    fig, (left, middle, right) = plt.subplots(1, 3)
    prior = Prior(prior="loguniform", low=0.1, high=2.0)
    assert plot_marginal(post, "a", prior, 0.5, ax=left) is left
    assert left.get_xscale() == "log" and np.allclose(left.get_xlim(), (0.1, 2.0))
    assert [line.get_label() for line in left.lines] == ["uniform prior (per bin)", "best set"]
    assert plot_pair(post, "a", "b", ax=middle) is middle and len(middle.collections) == 1
    assert plot_pair(post, "a", "a", ax=right) is right and len(right.patches) == 20
    own = plot_marginal(post, "b", Prior(low=-1.0, high=1.0))
    assert own.figure is not fig and not own.lines[1:]  # no best set given
    plt.close("all")
