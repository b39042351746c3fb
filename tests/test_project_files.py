"""The citation, licence and changelog agree with the package: CITATION.cff is valid CFF 1.2.0
in its keys, and it, the changelog and pyproject.toml name the same version, date and licence."""

from __future__ import annotations

import datetime as dt
import re
import tomllib

import yaml

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
CITATION = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
HOLDER = "The proxy-escalation contributors"

CFF_KEYS = {  # the top-level keys of the Citation File Format 1.2.0
    "abstract",
    "authors",
    "cff-version",
    "commit",
    "contact",
    "date-released",
    "doi",
    "identifiers",
    "keywords",
    "license",
    "license-url",
    "message",
    "preferred-citation",
    "references",
    "repository",
    "repository-artifact",
    "repository-code",
    "title",
    "type",
    "url",
    "version",
}


def test_the_citation_has_the_keys_cff_requires_and_no_others():
    assert isinstance(CITATION, dict)
    assert {"cff-version", "message", "title", "authors"} <= set(CITATION)
    assert set(CITATION) <= CFF_KEYS
    assert CITATION["cff-version"] == "1.2.0"
    assert CITATION["message"].strip() and CITATION["title"].strip()
    assert CITATION["type"] in ("software", "dataset")


def test_the_citation_names_the_contributors_as_an_entity():
    authors = CITATION["authors"]
    assert isinstance(authors, list) and authors
    assert all(isinstance(a, dict) and ("name" in a or "family-names" in a) for a in authors)
    assert authors[0] == {"name": HOLDER}


def test_the_citation_version_is_the_packages():
    assert str(CITATION["version"]) == PYPROJECT["version"]


def test_the_citation_licence_is_the_packages_and_the_licence_files():
    assert CITATION["license"] == PYPROJECT["license"]["text"] == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert f"Copyright (c) 2026 {HOLDER}" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_the_release_date_is_the_changelogs():
    released = CITATION["date-released"]
    assert isinstance(released, dt.date)  # YAML reads an ISO date as a date
    heading = f"## [{PYPROJECT['version']}] - {released.isoformat()}"
    assert heading in CHANGELOG.splitlines()


def test_the_changelog_keeps_an_unreleased_section_above_the_releases():
    headings = re.findall(r"^## \[([^\]]+)\]", CHANGELOG, re.M)
    assert headings[0] == "Unreleased"
    assert PYPROJECT["version"] in headings
    sections = re.findall(r"^### (\w+)", CHANGELOG, re.M)
    kinds = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
    assert sections and set(sections) <= kinds
