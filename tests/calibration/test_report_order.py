"""The report leads with what generalises: held-out targets, then the posterior predictive
ensemble, then the best set's count on the targets it was fitted to."""

from __future__ import annotations

from types import SimpleNamespace

from escalation.calibration.report import MODEL_LABELS, ReportInputs, _null_models, _summary


def _score(hits: int, targets: int) -> dict:
    return {
        "targets": targets,
        "hits": hits,
        "hit_rate": hits / targets,
        "hits_within_sampling_error": hits,
        "observed_in_90pct_interval": hits,
        "rms_distance_of_medians": 0.5,
        "crps": round(1 - hits / targets, 4),
    }


def _inputs(out_of_sample: bool) -> ReportInputs:
    def model(all_hits: int, held_hits: int) -> dict:
        scores = {"all_tempo_targets": _score(all_hits, 80)}
        if out_of_sample:
            scores["fit_targets"] = _score(all_hits - held_hits, 40)
            scores["out_of_sample_targets"] = _score(held_hits, 40)
        return scores

    scores = {
        "calibrated": model(49, 21),
        "posterior_predictive": model(50, 24),
        "null_phase_blind": model(33, 15),
        "null_hawkes": {
            **model(36, 12),
            "parameters": {
                "a": {"branching_ratio": 0.0},
                "b": {"branching_ratio": 0.6},
                "c": {"branching_ratio": 0.3},
            },
        },
        "null_constant_rate": model(30, 9),
        "phases": {"reproduced": 13, "changes": 16},
    }
    spec = SimpleNamespace(
        fit_until="2021-12-31" if out_of_sample else None, score_until=None, report_replicates=4
    )
    return ReportInputs(
        cal=SimpleNamespace(spec=spec), scores=scores, targets=None, phases=None, episodes=None,
        strikes=None, candidates=None, budget="quick", refine_state=None, trust_state=None,
        full_fit=None,
    )  # fmt: skip


def test_out_of_sample_then_posterior_predictive_then_the_best_set():
    bullets = [line for line in _summary(_inputs(True)) if line.startswith("- ")]
    assert bullets[0].startswith("- **Out of sample**")
    assert "**24 of 40" in bullets[0] and "phase-blind agents 15" in bullets[0]
    assert "Hawkes 12" in bullets[0] and "constant rate 9" in bullets[0]
    assert bullets[1].startswith("- **Posterior predictive**") and "50 of 80" in bullets[1]
    assert bullets[2].startswith("- Best set") and "49 of 80" in bullets[2]


def test_a_full_fit_leads_with_the_posterior_predictive_ensemble():
    bullets = [line for line in _summary(_inputs(False)) if line.startswith("- ")]
    assert bullets[0].startswith("- **Posterior predictive**")
    assert not any("Out of sample" in b for b in bullets)


def test_the_models_table_lists_every_null_with_its_crps():
    lines = _null_models(_inputs(True))
    rows = [line for line in lines if line.startswith("| ") and "/80 |" in line]
    assert [r.split(" | ")[0][2:] for r in rows] == list(MODEL_LABELS.values())
    hawkes = next(r for r in rows if r.startswith(f"| {MODEL_LABELS['null_hawkes']} |"))
    assert hawkes.endswith("| 0.55 |")  # the CRPS column, last
    held = [line for line in lines if line.startswith("| ") and "/40 |" in line]
    assert len(held) == len(MODEL_LABELS) and held[3].endswith("| 0.7 |")
    note = next(line for line in lines if "branching ratio" in line)
    assert "2 of its 3 series" in note and "0.60 (`b`)" in note and "median 0.30" in note


def test_a_full_fit_with_rolling_origins_leads_with_them():
    from escalation.calibration.report import _rolling

    inputs = _inputs(False)
    assert _rolling(inputs) == []
    inputs.rolling = "| fitted to | scored to | model |\n|---|---|---|\n"
    lines = _rolling(inputs)
    assert lines[0] == "## Out of sample, at rolling origins"
    assert any(line.startswith("| fitted to | scored to | model |") for line in lines)


def test_each_miss_has_its_reason_and_stale_reasons_are_named():
    """The calibration file's reasons go beside the misses; a miss without one is named, and a
    reason kept for a target the fit now meets is flagged as stale."""
    import pandas as pd

    from escalation.calibration.report import _reasons

    spec = SimpleNamespace(
        misses={"a": "too hot in 2020", "c": "the peak comes early"}, fit_until=None
    )
    r = SimpleNamespace(
        cal=SimpleNamespace(spec=spec), targets=pd.DataFrame({"id": ["a", "b", "c"]})
    )
    lines = _reasons(r, missed=["a", "b"], scored=["a", "b", "c"])
    assert "- `a`: too hot in 2020" in lines
    assert "- no reason given yet: `b`" in lines
    assert any("(stale): `c`" in line for line in lines)
    assert not any("`c`:" in line for line in lines)
    spec.fit_until = "2021-12-31"  # a rolling origin's fit: the reasons are the full fit's
    assert _reasons(r, missed=["a", "b"], scored=["a", "b", "c"]) == []


def test_the_report_shows_a_table_read_back_as_the_fit_first_showed_it(tmp_path):
    """Counts stay integers, a ratio undefined in most runs stays n/a, an empty cell stays
    empty, and the columns the report computes with come back as numbers and truth values."""
    import pandas as pd

    from escalation.calibration.report import markdown_table, read_report_table

    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "median": [819, "n/a", "2021-12"],
            "p05": [717, 67.9, ""],
            "relative": [0.61, -0.25, float("nan")],
            "hit": [True, False, True],
        }
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    back = read_report_table(tmp_path / "t.csv")
    assert markdown_table(back) == markdown_table(frame)
    assert back["hit"].dtype == bool and back["relative"].dtype == float
