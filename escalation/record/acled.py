"""Bring an ACLED CSV export in as observed series.

ACLED data cannot be redistributed, so the project ships none; a user with an export loads it
here. :func:`load_acled` reads the CSV (ACLED's standard columns; event_date like "15 February
2021" or ISO), classifies each row with a mapping file (default: ``acled_mapping.yaml`` in this
package) and counts it into every record series whose filters it matches. The result gives daily
counts in the ``Mapping[str, pandas.Series]`` form that :func:`calibration.compute_statistic`
reads, monthly tables, and targets built from monthly counts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import pandas as pd
import yaml

from escalation.record.loading import load_record
from escalation.record.types import (
    TARGET_CLASSES,
    WEAPONS,
    Record,
    RecordError,
    Series,
    Source,
    Target,
    Value,
    Window,
)
from escalation.scenario.base import EARLIEST_DATE, LATEST_DATE
from escalation.scenario.yamltext import load_yaml

__all__ = ["REQUIRED_COLUMNS", "AcledData", "AcledMapping", "load_acled", "load_acled_mapping"]

#: Columns the loader reads; an export without them is rejected.
REQUIRED_COLUMNS = (
    "event_id_cnty",
    "event_date",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "actor2",
    "assoc_actor_2",
    "country",
    "location",
    "notes",
)
DEFAULT_MAPPING = Path(__file__).resolve().parent / "data" / "acled_mapping.yaml"


@dataclass(frozen=True)
class _Rule:
    target_class: str
    patterns: tuple[re.Pattern[str], ...]
    countries: tuple[str, ...]


class _Militia(NamedTuple):
    """A militia of the mapping: its id and the actor patterns of its own and facade brands."""

    id: str
    own: tuple[re.Pattern[str], ...]
    facade: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class AcledMapping:
    """A parsed mapping file (see acled_mapping.yaml for the format)."""

    path: str
    event_types: tuple[str, ...]
    militias: tuple[_Militia, ...]
    network_brands: tuple[re.Pattern[str], ...]
    iran: tuple[re.Pattern[str], ...]
    unidentified: tuple[re.Pattern[str], ...]
    unidentified_targets: tuple[str, ...]
    target_rules: tuple[_Rule, ...]
    weapons: Mapping[str, tuple[re.Pattern[str], ...]]
    sub_event_weapons: Mapping[str, str]
    sizes: tuple[re.Pattern[str], ...]
    theatres: Mapping[str, str]
    series: tuple[str, ...] | None


def _fail(path: str, key: str, expected: str, got: Any) -> NoReturn:
    text = repr(got)
    if len(text) > 100:
        text = text[:97] + "..."
    raise RecordError(f"{path}: key '{key}': expected {expected}, got {text}.")


def _patterns(raw: Any, path: str, key: str) -> tuple[re.Pattern[str], ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or any(not isinstance(p, str) or not p for p in raw):
        _fail(path, key, "a list of regular expressions (text)", raw)
    out = []
    for i, p in enumerate(raw):
        try:
            out.append(re.compile(p, re.IGNORECASE))
        except re.error as exc:
            raise RecordError(
                f"{path}: key '{key}[{i}]': expected a valid regular expression, got {p!r} ({exc})."
            ) from None
    return tuple(out)


def load_acled_mapping(path: str | os.PathLike[str] | None = None) -> AcledMapping:
    """Parse and validate a mapping file (default: the packaged acled_mapping.yaml)."""
    p = Path(path) if path is not None else DEFAULT_MAPPING
    name = str(p)
    raw = _read_mapping(p)
    for key in ("event_types", "actors", "targets", "weapons"):
        if key not in raw:
            _fail(name, key, "this key (missing)", None)
    event_types = raw["event_types"]
    if not isinstance(event_types, list) or not all(isinstance(e, str) for e in event_types):
        _fail(name, "event_types", "a list of ACLED event_type values", event_types)
    militias = _militias(raw["actors"], name)
    unid = raw.get("unidentified") or {}
    if not isinstance(unid, Mapping):
        _fail(name, "unidentified", "a mapping {actors: [...], targets: [...]}", unid)
    unid_targets = unid.get("targets") or []
    for t in unid_targets:
        if t not in TARGET_CLASSES:
            _fail(name, "unidentified.targets", "target classes: " + ", ".join(TARGET_CLASSES), t)
    rules = _target_rules(raw["targets"], name)
    weapons = _weapons(raw["weapons"], name)
    sub = raw.get("sub_event_weapons") or {}
    if not isinstance(sub, Mapping) or any(v not in WEAPONS for v in sub.values()):
        _fail(name, "sub_event_weapons", "a mapping from sub_event_type to a weapon", sub)
    theatres = raw.get("theatres") or {"Iraq": "iraq", "Syria": "syria"}
    if not isinstance(theatres, Mapping) or any(
        v not in ("iraq", "syria") for v in theatres.values()
    ):
        _fail(name, "theatres", "a mapping from country to iraq or syria", theatres)
    series = raw.get("series")
    if series is not None and (
        not isinstance(series, list) or not all(isinstance(s, str) for s in series)
    ):
        _fail(name, "series", "a list of series ids", series)
    return AcledMapping(
        path=name,
        event_types=tuple(event_types),
        militias=militias,
        network_brands=_patterns(raw.get("network_brands"), name, "network_brands"),
        iran=_patterns(raw.get("iran"), name, "iran"),
        unidentified=_patterns(unid.get("actors"), name, "unidentified.actors"),
        unidentified_targets=tuple(unid_targets),
        target_rules=rules,
        weapons=weapons,
        sub_event_weapons=dict(sub),
        sizes=_patterns(raw.get("sizes"), name, "sizes"),
        theatres=dict(theatres),
        series=tuple(series) if series is not None else None,
    )


def _read_mapping(p: Path) -> Mapping[str, Any]:
    name = str(p)
    if not p.is_file():
        raise RecordError(f"{name}: mapping file not found; expected a YAML mapping file.")
    try:
        raw = load_yaml(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise RecordError(f"{name}: broken YAML{where}: {getattr(exc, 'problem', exc)}.") from None
    if not isinstance(raw, Mapping):
        _fail(name, "(top level)", "a mapping", raw)
    return raw


def _militias(actors: Any, name: str) -> tuple[_Militia, ...]:
    if not isinstance(actors, Mapping) or not actors:
        _fail(name, "actors", "a mapping from militia id to {own: [...], facade: [...]}", actors)
    militias = []
    for mid, body in actors.items():
        if not isinstance(body, Mapping) or not set(body) <= {"own", "facade"}:
            _fail(name, f"actors.{mid}", "a mapping with keys own and facade", body)
        militias.append(
            _Militia(
                str(mid),
                _patterns(body.get("own"), name, f"actors.{mid}.own"),
                _patterns(body.get("facade"), name, f"actors.{mid}.facade"),
            )
        )
    return tuple(militias)


def _target_rules(raw: Any, name: str) -> tuple[_Rule, ...]:
    if not isinstance(raw, list) or not raw:
        _fail(name, "targets", "a non-empty list of {class, patterns[, countries]} rules", raw)
    rules = []
    for i, rule in enumerate(raw):
        key = f"targets[{i}]"
        if not isinstance(rule, Mapping) or "class" not in rule or "patterns" not in rule:
            _fail(name, key, "a mapping {class, patterns[, countries]}", rule)
        if rule["class"] not in TARGET_CLASSES:
            _fail(name, f"{key}.class", "one of " + ", ".join(TARGET_CLASSES), rule["class"])
        countries = rule.get("countries") or []
        if not isinstance(countries, list):
            _fail(name, f"{key}.countries", "a list of country names", countries)
        rules.append(
            _Rule(
                rule["class"],
                _patterns(rule["patterns"], name, f"{key}.patterns"),
                tuple(countries),
            )
        )
    return tuple(rules)


def _weapons(raw: Any, name: str) -> dict[str, tuple[re.Pattern[str], ...]]:
    if not isinstance(raw, Mapping):
        _fail(name, "weapons", "a mapping from weapon to patterns", raw)
    weapons = {}
    for w, pats in raw.items():
        if w not in WEAPONS:
            _fail(name, f"weapons.{w}", "one of " + ", ".join(WEAPONS), w)
        weapons[w] = _patterns(pats, name, f"weapons.{w}")
    return weapons


# --------------------------------------------------------------------------------------------
# classification
# --------------------------------------------------------------------------------------------


def _any(patterns: Iterable[re.Pattern[str]], *texts: str) -> bool:
    return any(p.search(t) for p in patterns for t in texts if t)


def _classify(row: Mapping[str, str], m: AcledMapping) -> dict[str, Any]:
    who = f"{row['actor1']} | {row['assoc_actor_1']}"
    militia, claim, actor = None, None, "other"
    for mid, own, facade in m.militias:
        if _any(facade, who):
            militia, claim, actor = mid, "facade", "militia"
            break
        if _any(own, who):
            militia, claim, actor = mid, "own", "militia"
            break
    if actor == "other" and _any(m.network_brands, who):
        claim, actor = "facade", "militia"
    if actor == "other" and _any(m.iran, who):
        actor, claim = "iran", "own"
    text = (row["notes"], row["actor2"], row["assoc_actor_2"])
    target = None
    for rule in m.target_rules:
        if rule.countries and row["country"] not in rule.countries:
            continue
        if _any(rule.patterns, *text):
            target = rule.target_class
            break
    if actor == "other" and _any(m.unidentified, who) and target in m.unidentified_targets:
        claim, actor = "unclaimed", "militia"
    weapons = tuple(w for w, pats in m.weapons.items() if _any(pats, row["notes"]))
    if not weapons and row["sub_event_type"] in m.sub_event_weapons:
        weapons = (m.sub_event_weapons[row["sub_event_type"]],)
    size = None
    for pat in m.sizes:
        hit = pat.search(row["notes"] or "")
        if hit:
            size = int(hit.group(1))
            break
    return {
        "actor": actor,
        "militia": militia,
        "claim": claim or "unclaimed",
        "target_class": target,
        "weapons": weapons,
        "theatre": m.theatres.get(row["country"]),
        "size": size,
    }


def _matches(s: Series, ev: Mapping[str, Any]) -> bool:
    if s.action != "attack" or ev["target_class"] is None:
        return False
    if s.actors == "militias" and ev["actor"] != "militia":
        return False
    if s.actors == "iran" and ev["actor"] != "iran":
        return False
    if isinstance(s.actors, tuple) and ev["militia"] not in s.actors:
        return False
    if s.targets != "any" and ev["target_class"] not in s.targets:
        return False
    if s.weapons != "any" and not set(ev["weapons"]) & set(s.weapons):
        return False
    if s.theatre != "any" and ev["theatre"] != s.theatre:
        return False
    claim = ev["claim"]
    if s.claim == "claimed" and claim not in ("own", "facade"):
        return False
    if s.claim in ("own", "facade", "unclaimed") and claim != s.claim:
        return False
    return not (s.min_size is not None and (ev["size"] is None or ev["size"] < s.min_size))


def _countable(s: Series) -> bool:
    return s.action == "attack" and s.measure == "count" and s.convention == "event"


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AcledData:
    """An ACLED export classified into observed series.

    ``events``: the counted rows with their classification and the list of series each entered.
    ``unmatched``: attack rows that entered no series. ``skipped``: rows of other event types.
    """

    path: str
    events: pd.DataFrame
    unmatched: pd.DataFrame
    skipped: pd.DataFrame
    series: tuple[str, ...]
    start: date
    end: date

    @property
    def daily(self) -> dict[str, pd.Series]:
        """Daily counts per series over the export's date range (zeros included)."""
        days = pd.date_range(self.start, self.end, freq="D")
        out = {}
        exploded = self.events.explode("series")
        for sid in self.series:
            hits = exploded.loc[exploded["series"] == sid, "date"]
            out[sid] = hits.value_counts().reindex(days, fill_value=0).astype(float)
        return out

    def monthly(self) -> pd.DataFrame:
        """Tidy monthly counts: series, month (first day), count."""
        rows = []
        for sid, s in self.daily.items():
            m = s.groupby(s.index.to_period("M")).sum()
            rows += [
                {"series": sid, "month": p.to_timestamp(), "count": float(v)} for p, v in m.items()
            ]
        return pd.DataFrame(rows, columns=["series", "month", "count"])

    def to_targets(
        self,
        *,
        relative_tolerance: float = 0.1,
        absolute_tolerance: float = 1.0,
        period: tuple[date, date] | None = None,
    ) -> tuple[Target, ...]:
        """Monthly counts as targets: {point: n, tolerance: max(absolute, relative * n)}.

        Only whole months inside ``period`` (default: the export's date range) are used.
        """
        start, end = period or (self.start, self.end)
        out = []
        for sid, s in self.daily.items():
            m = s.groupby(s.index.to_period("M")).sum()
            for per, n in m.items():
                w = Window(per.start_time.date(), per.end_time.date())
                if w.start < start or w.end > end:
                    continue
                tol = max(absolute_tolerance, relative_tolerance * float(n))
                out.append(
                    Target(
                        id=f"acled_export_{sid}_{per.strftime('%Y_%m')}",
                        series=sid,
                        window=w,
                        statistic="count",
                        value=Value(
                            form="point",
                            low=float(n) - tol,
                            high=float(n) + tol,
                            point=float(n),
                            tolerance=tol,
                        ),
                        sources=(Source(file=Path(self.path).name, passages=()),),
                        definition=f"Monthly count of '{sid}' in the user's ACLED export.",
                        notes=f"tolerance +-{tol:g} (max of {absolute_tolerance:g} and "
                        f"{relative_tolerance:.0%} of the count)",
                        origin=self.path,
                    )
                )
        return tuple(out)


def _parse_dates(df: pd.DataFrame, path: str) -> pd.Series:
    raw = df["event_date"].astype(str).str.strip()
    parsed = pd.to_datetime(raw, format="%d %B %Y", errors="coerce")
    iso = pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce")
    parsed = parsed.fillna(iso)
    _refuse_dates(
        df, raw, parsed.isna(), path,
        "a date like '15 February 2021' or '2021-02-15'", "with unreadable dates",
    )  # fmt: skip
    # a typo such as 9999 would otherwise spread the counts over millions of empty days
    far = (parsed < pd.Timestamp(EARLIEST_DATE)) | (parsed > pd.Timestamp(LATEST_DATE))
    _refuse_dates(
        df, raw, far, path,
        f"a date from {EARLIEST_DATE} to {LATEST_DATE}", "outside that range",
    )  # fmt: skip
    return parsed.dt.normalize()


def _refuse_dates(
    df: pd.DataFrame, raw: pd.Series, bad: pd.Series, path: str, expected: str, what: str
) -> None:
    """Raise for the first row ``bad`` marks, naming it, what was ``expected`` and how many."""
    if not bad.any():
        return
    i = int(bad.to_numpy().nonzero()[0][0])
    raise RecordError(
        f"{path}: row {i + 2} (event {df['event_id_cnty'].iloc[i]!r}), column 'event_date': "
        f"expected {expected}, got {raw.iloc[i]!r} ({int(bad.sum())} row(s) {what})."
    )


def load_acled(
    csv_path: str | os.PathLike[str],
    mapping: str | os.PathLike[str] | AcledMapping | None = None,
    *,
    record: Record | None = None,
    series: Sequence[str] | None = None,
) -> AcledData:
    """Load an ACLED CSV export and count its rows into observed series.

    ``mapping``: a mapping file or parsed :class:`AcledMapping` (default: the packaged one).
    ``series``: record series to fill (default: the mapping's list, else every series whose
    source mentions ACLED); series with casualty measures or non-event conventions are rejected.
    Raises :class:`RecordError` for a missing file or columns, an unreadable date or one outside
    the dates a scenario may use (1950-01-01 to 2100-12-31), or a broken mapping.
    """
    path = str(csv_path)
    m = mapping if isinstance(mapping, AcledMapping) else load_acled_mapping(mapping)
    rec = record or load_record()
    if not Path(path).is_file():
        raise RecordError(f"{path}: ACLED export not found; expected a CSV file.")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise RecordError(
            f"{path}: cannot read as CSV ({exc}); expected an ACLED export."
        ) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise RecordError(
            f"{path}: expected ACLED's standard columns; missing {', '.join(missing)} "
            f"(found: {', '.join(df.columns[:12])}{'...' if len(df.columns) > 12 else ''})."
        )
    wanted = list(series or m.series or [s for s in rec.series if "ACLED" in rec.series[s].source])
    for sid in wanted:
        if sid not in rec.series:
            raise RecordError(
                f"{m.path}: key 'series': expected series ids from series.yaml, got {sid!r}."
            )
        if not _countable(rec.series[sid]):
            raise RecordError(
                f"{m.path}: key 'series': '{sid}' cannot be counted from ACLED events (it needs "
                f"measure count, convention event and action attack)."
            )
    dates = _parse_dates(df, path) if len(df) else pd.Series(dtype="datetime64[ns]")
    df = df.assign(date=dates)
    is_attack = df["event_type"].isin(m.event_types)
    skipped = df[~is_attack].copy()
    rows = df[is_attack].copy()
    classes = [_classify(r, m) for r in rows.to_dict("records")]
    cls = pd.DataFrame(classes, index=rows.index)
    rows = (
        pd.concat([rows, cls], axis=1)
        if len(rows)
        else rows.assign(
            actor=[], militia=[], claim=[], target_class=[], weapons=[], theatre=[], size=[]
        )
    )
    rows["series"] = (
        [[sid for sid in wanted if _matches(rec.series[sid], ev)] for ev in classes]
        if classes
        else []
    )
    hit = rows["series"].map(len) > 0 if len(rows) else pd.Series(dtype=bool)
    start = df["date"].min().date() if len(df) else date.today()
    end = df["date"].max().date() if len(df) else date.today()
    return AcledData(
        path=path,
        events=rows[hit].reset_index(drop=True) if len(rows) else rows,
        unmatched=rows[~hit].reset_index(drop=True) if len(rows) else rows,
        skipped=skipped.reset_index(drop=True),
        series=tuple(wanted),
        start=start,
        end=end,
    )
