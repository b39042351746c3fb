"""The Iraqi government: who holds office, sovereignty costs, pressure on the US presence,
truce mediation and crackdowns.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from escalation.scenario.base import Frozen, NonNeg, PosInt, Prob


class Government(Frozen):
    """The government in office."""

    name: str = Field("Government", description="Who holds office.")
    alignment: Annotated[float, Field(ge=-1, le=1)] = Field(
        0.0, description="-1 pro-US ... +1 aligned with the militias' political allies."
    )
    militias_in_government: bool = Field(
        False, description="Whether the militias' political wings hold posts (raises their stake)."
    )
    crackdown: float = Field(-4.0, description="Baseline utility of a crackdown at a review.")
    mediation: float = Field(-6.0, description="Baseline utility of brokering a truce.")


class IraqiGovernment(Frozen):
    """Sovereignty costs, pressure on the US presence, truce mediation, crackdowns."""

    government: Government = Field(default_factory=Government)
    review_days: PosInt = Field(7, description="Days between reviews.")
    temperature: Annotated[float, Field(gt=0)] = Field(0.5)
    sovereignty_half_life_days: Annotated[float, Field(gt=0)] = Field(90.0)
    pressure_on_us: NonNeg = Field(0.0, description="Initial pressure on the US presence.")
    pressure_per_sovereignty: NonNeg = Field(
        0.3, description="Pressure on the US presence added per unit of sovereignty cost."
    )
    pressure_half_life_days: Annotated[float, Field(gt=0)] = Field(365.0)
    violence_weight: NonNeg = Field(
        0.02, description="Mediation utility per attack in the last 30 days."
    )
    domestic_weight: NonNeg = Field(
        0.1, description="Crackdown utility per domestic attack in the last 30 days."
    )
    alignment_weight: NonNeg = Field(
        2.0, description="Crackdown utility lost per unit of alignment with the militias."
    )
    crackdown_stock_loss: Prob = Field(0.2, description="Share of stocks seized in a crackdown.")
    crackdown_grievance: NonNeg = Field(0.5, description="Grievance a crackdown adds.")
    truce_days: PosInt = Field(60, description="Duration of a brokered truce.")
