"""The material side of an attack: weapons (with their size classes) and target classes, each
with the built-in set a scenario starts from.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from escalation.scenario.base import Exposure, Frozen, NonNeg, Owner, PosInt, Prob, Theatre


class SizeClass(Frozen):
    """One size class of an attack (how many munitions are fired at once)."""

    min: PosInt = Field(description="Fewest munitions in an attack of this class.")
    max: PosInt = Field(description="Most munitions in an attack of this class.")
    level: NonNeg = Field(
        description="Escalation level of the class (0 = smallest). Revenge and the line raise the "
        "utility of higher levels; fear of retaliation lowers it."
    )
    prior: float = Field(0.0, description="Baseline utility of choosing this class.")


def _default_sizes(small: tuple[int, int], medium: tuple[int, int], large: tuple[int, int]):
    return {
        "small": {"min": small[0], "max": small[1], "level": 0.0, "prior": 0.0},
        "medium": {"min": medium[0], "max": medium[1], "level": 1.0, "prior": -1.5},
        "large": {"min": large[0], "max": large[1], "level": 2.0, "prior": -4.0},
    }


class Weapon(Frozen):
    """A weapon type militias (or Iran) can use."""

    interceptable: Prob = Field(
        description="Probability that one munition is intercepted when the target's air and "
        "rocket defence is at full strength (scaled by the target's defence level)."
    )
    accuracy: Prob = Field(
        description="Probability that an attack that is not fully intercepted lands near personnel "
        "or infrastructure (the Pentagon counts only those as attacks on its forces)."
    )
    lethality: NonNeg = Field(
        description="Hazard that one munition landing near personnel hurts someone, at a target "
        "of personnel density 1 with no force protection (P(any casualty) = 1 - exp(-hazard))."
    )
    cluster: Annotated[float, Field(ge=1)] = Field(
        2.0,
        description="Mean US casualties in an attack that causes any (casualties come in "
        "clusters: few attacks wound anyone, those that do often wound several).",
    )
    kill_share: Prob = Field(0.05, description="Share of US casualties that are killed.")
    cost: NonNeg = Field(description="Utility cost of using this weapon in one attack.")
    sizes: dict[str, SizeClass] = Field(description="Size classes, chosen per attack.")

    @field_validator("sizes")
    @classmethod
    def _sizes_nonempty(cls, v: dict[str, SizeClass]) -> dict[str, SizeClass]:
        if not v:
            raise ValueError("at least one size class is needed")
        for name, s in v.items():
            if s.max < s.min:
                raise ValueError(f"size class {name!r}: max ({s.max}) is below min ({s.min})")
        return v


def default_weapons() -> dict[str, Any]:
    return {
        "rocket": {
            "interceptable": 0.4,
            "accuracy": 0.55,
            "lethality": 0.03,
            "cluster": 2.5,
            "kill_share": 0.08,
            "cost": 0.2,
            "sizes": _default_sizes((1, 4), (5, 10), (11, 35)),
        },
        "drone": {
            "interceptable": 0.6,
            "accuracy": 0.8,
            "lethality": 0.08,
            "cluster": 2.0,
            "kill_share": 0.05,
            "cost": 0.5,
            "sizes": _default_sizes((1, 1), (2, 3), (4, 8)),
        },
        "ied": {
            "interceptable": 0.0,
            "accuracy": 0.9,
            "lethality": 0.0,
            "cluster": 1.0,
            "kill_share": 0.0,
            "cost": 0.1,
            "sizes": _default_sizes((1, 1), (2, 2), (3, 4)),
        },
        "missile": {
            "interceptable": 0.3,
            "accuracy": 0.9,
            "lethality": 0.3,
            "cluster": 20.0,
            "kill_share": 0.02,
            "cost": 3.0,
            "sizes": _default_sizes((1, 2), (3, 6), (10, 16)),
        },
    }


class TargetClass(Frozen):
    """A class of targets: who owns it, what can hit it, what an attack on it is worth."""

    label: str = Field(description="Human-readable name used in tables and plots.")
    owner: Owner = Field(
        description="Whose presence or interests an attack pressures: us, turkey, krg (the "
        "Kurdistan Regional Government) or domestic."
    )
    theatre: Theatre = Field("iraq", description="Country the targets are in.")
    weapons: list[str] = Field(description="Weapons that can be used against this class.")
    exposure: Exposure = Field(
        "always",
        description="Which posture value makes targets available: sites (US bases held), troops "
        "(logistics volume), embassy, syria (US presence in Syria) or always. Its share of the "
        "start's level scales the class's opportunity: fewer convoys, fewer convoys to attack.",
    )
    opportunity: float = Field(
        1.0,
        gt=0.0,
        le=1.0,
        description="Daily chance, with the class fully exposed, that a militia finds a target "
        "of it within reach (a convoy on a route its cells cover); the exposure scales it. It "
        "bounds the daily rate of attacks on the class however strong the will to attack: at 1 "
        "the will alone decides.",
    )
    shared: bool = Field(
        False,
        description="Whether the militias compete for the same targets of this class: a target "
        "within reach on a day is within reach of every militia that attacks the class, and the "
        "first attack takes it (convoys on routes several militias' cells cover). The class's "
        "opportunity then bounds the network's daily rate of attacks on it, not each militia's.",
    )
    pressure: NonNeg = Field(description="Pressure one attack puts on the owner.")
    legitimacy: float = Field(
        description="Domestic-audience value of an attack (negative if it costs standing)."
    )
    visibility: NonNeg = Field(
        description="How public and politically costly an attack is for a militia with a "
        "political stake."
    )
    retaliation_risk: NonNeg = Field(
        description="How likely an attack here is to draw retaliation, as militias perceive it."
    )
    personnel: NonNeg = Field(
        0.0, description="US personnel density (scales US casualties); 0 where none are present."
    )
    defended: bool = Field(False, description="Whether US air and rocket defence covers it.")
    other_killed_rate: NonNeg = Field(
        0.0, description="Expected non-US deaths (Iraqi drivers, guards, passers-by) per attack."
    )
    rival_revenue: bool = Field(
        False,
        description="Attacks hit rivals' revenue (liquor trade taxed by rivals): militias punish "
        "rivals who break a truce by attacking these targets.",
    )
    covered_by_truce: bool = Field(
        False, description="Whether a truce with US forces covers this class by default."
    )
    front: str = Field(
        "main",
        min_length=1,
        description="The front this class belongs to. A militia decides each day, for each "
        "front, whether to attack on it (at most one attack a front a day): classes on one "
        "front compete for the same cells, so a busy front crowds out its other classes but "
        "not those of another front.",
    )
    own_claim_cost: NonNeg = Field(
        0.0,
        description="Extra cost of claiming an attack on this class in the militia's own name, "
        "on top of deniability.own_claim_cost (an open claim of attacks on Iraqi civilians, for "
        "example, exposes a militia in the state to its rivals and the government).",
    )


def default_targets() -> dict[str, Any]:
    """The built-in target classes: those of US forces, then those of other owners."""
    return {**_us_targets(), **_other_targets()}


def _us_targets() -> dict[str, Any]:
    return {
        "us_base": {
            "label": "US bases (Iraq)",
            "owner": "us",
            "weapons": ["rocket", "drone", "missile"],
            "exposure": "sites",
            "pressure": 1.0,
            "legitimacy": 0.6,
            "visibility": 1.0,
            "retaliation_risk": 1.0,
            "personnel": 1.0,
            "defended": True,
            "covered_by_truce": True,
        },
        "us_convoy": {
            "label": "US logistics convoys",
            "owner": "us",
            "weapons": ["ied"],
            "exposure": "troops",
            "pressure": 0.45,
            "legitimacy": 0.3,
            "visibility": 0.25,
            "retaliation_risk": 0.1,
            "personnel": 0.0,
            "other_killed_rate": 0.01,
            "covered_by_truce": False,
        },
        "us_embassy": {
            "label": "US Embassy",
            "owner": "us",
            "weapons": ["rocket", "drone"],
            "exposure": "embassy",
            "pressure": 0.5,
            "legitimacy": 0.2,
            "visibility": 1.5,
            "retaliation_risk": 1.5,
            "personnel": 0.5,
            "defended": True,
            "covered_by_truce": True,
        },
        "us_base_syria": {
            "label": "US bases (Syria)",
            "owner": "us",
            "theatre": "syria",
            "weapons": ["rocket", "drone"],
            "exposure": "syria",
            "pressure": 0.6,
            "legitimacy": 0.4,
            "visibility": 0.4,
            "retaliation_risk": 0.8,
            "personnel": 0.8,
            "defended": True,
            "covered_by_truce": True,
        },
    }


def _other_targets() -> dict[str, Any]:
    return {
        "turkish_base": {
            "label": "Turkish bases",
            "owner": "turkey",
            "weapons": ["rocket", "drone"],
            "pressure": 1.0,
            "legitimacy": 0.4,
            "visibility": 0.3,
            "retaliation_risk": 0.15,
        },
        "domestic": {
            "label": "Domestic 'un-Islamic' targets",
            "owner": "domestic",
            "weapons": ["ied"],
            "pressure": 0.0,
            "legitimacy": 0.0,
            "visibility": 0.2,
            "retaliation_risk": 0.0,
            "rival_revenue": True,
        },
        "kurdish_energy": {
            "label": "Kurdish oil and gas fields",
            "owner": "krg",
            "weapons": ["rocket", "drone"],
            "pressure": 1.0,
            "legitimacy": 0.0,
            "visibility": 0.3,
            "retaliation_risk": 0.05,
        },
    }
