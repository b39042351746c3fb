"""The militias: each one's incentives and state, its facade brands, and the scenario-wide rules
of the truces they keep or break and the claims they make (deniability).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from escalation.scenario.base import Frozen, Motive, NonNeg, PosInt, Prob


class Brand(Frozen):
    """A facade brand under which a militia can claim attacks for deniability."""

    name: str = Field(description="The brand's name as it appears in claims.")
    targets: list[str] = Field(description="Target classes the brand is used for.")
    active_from: dt.date | None = Field(
        None, description="First day the brand is in use (null: from the start)."
    )


class MilitiaWeights(Frozen):
    """Weights of the terms in a militia's attack utility (per attack option and day)."""

    pressure: NonNeg = Field(1.0, description="Pressure the attack puts on the target's owner.")
    legitimacy: NonNeg = Field(0.5, description="Domestic-audience value of the target class.")
    revenge: NonNeg = Field(1.0, description="Revenge for US strikes (US targets only).")
    rivalry: NonNeg = Field(
        0.6,
        description="Outbidding: log(1 + rivals' monthly attacks on foreign forces) minus "
        "log(1 + one's own).",
    )
    punish: NonNeg = Field(
        1.0,
        description="Attacks on rivals' revenue while rivals break a truce this militia keeps "
        "(times log(1 + rivals' violations per month)).",
    )
    redirect: NonNeg = Field(
        0.8,
        description="While observing a truce, effort shifts to target classes outside its scope.",
    )
    fear: NonNeg = Field(1.0, description="Fear of retaliation, scaled by attribution risk.")
    deterrence: NonNeg = Field(
        50.0,
        description="Weight of the expected cost of a US response to an attack: the response "
        "the militia has seen per attack on US forces (credibility) times the target's "
        "retaliation risk, reduced like fear by the chance the attack is attributed. It weighs "
        "on attacking and on the size of an attack (0: strikes only provoke).",
    )
    compliance: NonNeg = Field(1.0, description="Following Iran's line, scaled by compliance.")
    truce: NonNeg = Field(4.0, description="Cost of breaking a truce the militia observes.")
    defiance: NonNeg = Field(
        1.0,
        description="Standing a militia that refused a truce gains by attacking what it covers "
        "(outbidding those who comply).",
    )
    political: NonNeg = Field(
        1.0, description="Political stake (seats, posts) times the target's visibility."
    )
    grievance: NonNeg = Field(1.0, description="Grievance (electoral defeat) against US targets.")
    cost: NonNeg = Field(1.0, description="Weapon cost.")
    claim: NonNeg = Field(
        0.5, description="Standing gained by claiming an attack under a recognisable name."
    )
    facade: float = Field(
        0.0,
        description="The militia's habit of claiming through its facade brands rather than its own "
        "name or none (negative: it rarely uses them).",
    )
    size: NonNeg = Field(
        0.6, description="How strongly revenge, the line and fear move the size of an attack."
    )


class Militia(Frozen):
    """One Iran-backed militia, decided per day under its incentives."""

    name: str = Field(description="Full name.")
    resolve: float = Field(
        -5.0, description="Baseline drive to act: shifts every attack option's utility."
    )
    idle: float = Field(
        0.0,
        description="Utility of not attacking on a given day (the threshold every attack option "
        "competes with).",
    )
    temperature: Annotated[float, Field(gt=0)] = Field(
        1.0, description="Logit temperature of the daily choice (higher: more random)."
    )
    compliance: Prob = Field(0.7, description="How closely the militia follows Iran's line.")
    political_stake: NonNeg = Field(0.3, description="Initial political stake (seats, posts).")
    stocks: dict[str, NonNeg] = Field(
        default_factory=dict, description="Initial munitions by weapon."
    )
    capacity: dict[str, NonNeg] = Field(
        default_factory=dict,
        description="Most munitions the militia can hold, by weapon (resupply stops there).",
    )
    affinity: dict[str, NonNeg] = Field(
        default_factory=dict,
        description="Target class -> multiplier on the pressure its attacks put on the owner, as "
        "this militia sees it (expertise, networks, local presence); 1 if not given.",
    )
    tactics: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="Target class -> context driver -> weight: drivers that make a target class "
        "more or less attractive for this militia; its affinity is multiplied by "
        "1 + sum(weight * driver), floored at 0.",
    )
    repertoire: dict[str, dt.date | None] = Field(
        description="Target classes the militia attacks -> date the tactic is adopted (null: from "
        "the start)."
    )
    brands: list[Brand] = Field(default_factory=list, description="Facade brands.")
    rivals: list[str] = Field(default_factory=list, description="Militias it competes with.")
    motives: dict[str, Motive] = Field(
        default_factory=dict, description="Motive to pressure each owner (us, turkey, krg, ...)."
    )
    weights: MilitiaWeights = Field(default_factory=MilitiaWeights)
    resupply_share: NonNeg = Field(
        1.0, description="Relative share of Iran's resupply this militia receives."
    )
    false_claim_rate: NonNeg = Field(
        0.0, description="Claims per day of attacks that did not happen (inflated claims)."
    )
    revenge_half_life_days: Annotated[float, Field(gt=0)] = Field(
        60.0, description="Half-life of revenge."
    )
    fear_half_life_days: Annotated[float, Field(gt=0)] = Field(
        120.0, description="Half-life of learned fear of retaliation."
    )
    fear_prior: NonNeg = Field(0.3, description="Fear of retaliation before any US strike.")
    credibility_prior: NonNeg = Field(
        0.0,
        description="US response expected per attack on US forces before any strike is seen "
        "(strike severity per attack; 0: none until the US strikes).",
    )
    credibility_weight: Annotated[float, Field(gt=0)] = Field(
        5.0,
        description="How many attacks' worth of evidence the prior credibility counts for: the "
        "credibility the militia sees is (credibility_prior x credibility_weight + severity of "
        "the US strikes it remembers) / (credibility_weight + attacks on US forces it "
        "remembers); both memories fade with fear_half_life_days. A strike during a surge of "
        "attacks moves it less than one after a single attack.",
    )
    rivalry_half_life_days: Annotated[float, Field(gt=0)] = Field(
        30.0, description="Half-life of the memory of rivals' attacks (outbidding)."
    )
    grievance_half_life_days: Annotated[float, Field(gt=0)] = Field(
        90.0, description="Half-life of electoral grievance."
    )
    context_half_life_days: NonNeg = Field(
        0.0,
        description="How long the militia takes to act on a change in the context drivers: its "
        "motives and tactics follow a memory of the drivers that moves towards their current "
        "values with this half-life (0: on the day). A campaign then builds up and winds down "
        "over weeks after the event that moves it.",
    )
    driver_half_life_days: dict[str, NonNeg] = Field(
        default_factory=dict,
        description="Per context driver, a half-life that replaces context_half_life_days for "
        "that driver alone (0: on the day). Political drivers can then take effect over weeks "
        "(a campaign that builds up after an election, an agreement acted on once it is seen "
        "carried out) while the responses to a war or a strike stay immediate.",
    )
    withdraw_margin: float = Field(
        -6.0,
        description="A target class is dropped when its best option's utility falls this far "
        "below the idle utility at a review (the log of its daily attack odds); it is taken up "
        "again above reengage_margin.",
    )
    reengage_margin: float = Field(
        -4.0, description="Margin to idle above which a dropped target class is taken up again."
    )
    review_sharpness: Annotated[float, Field(gt=0)] = Field(
        2.0, description="How sharply the margin decides a review (logistic slope)."
    )
    review_days: PosInt = Field(
        30,
        description="Days between reviews of which classes to attack (a change in the context "
        "drivers also prompts a review).",
    )


# --------------------------------------------------------------------------- truces, deniability


class TruceRules(Frozen):
    """How truces are accepted, kept and collapse."""

    acceptance: float = Field(
        -3.5,
        description="Utility of accepting a truce is acceptance + compliance_weight * compliance "
        "(logit against refusing).",
    )
    compliance_weight: NonNeg = Field(
        8.0, description="Weight of compliance with Iran in accepting a truce."
    )
    collapse_share: Prob = Field(
        0.67, description="Share of militias breaking a truce at which it collapses."
    )
    ends_on_us_strike: Prob = Field(
        0.3, description="Probability that a US strike in Iraq ends the truce."
    )


class Deniability(Frozen):
    """Facade brands and attribution."""

    facades: bool = Field(True, description="Whether militias can claim under facade brands.")
    claim_temperature: Annotated[float, Field(gt=0)] = Field(
        0.5, description="Logit temperature of the choice of claim."
    )
    facade_credit: Prob = Field(
        0.6, description="Share of a claim's standing value that a facade brand keeps."
    )
    own_claim_cost: NonNeg = Field(
        1.5,
        description="Cost of claiming under the militia's own name (exposes its political wing "
        "and its posts in the state).",
    )
    facade_claim_cost: NonNeg = Field(
        0.3, description="Cost of claiming under a facade brand (publicity, traceable channels)."
    )
    brand_appeal: dict[str, float] = Field(
        default_factory=dict,
        description="Extra utility of claiming under a named facade brand, for every militia "
        "that uses it (e.g. an umbrella brand launched to claim a campaign). Unnamed brands: 0.",
    )
