"""The support score on hand-labelled pairs: sentences a passage of corpus/ does or does not
support (paraphrases, not quotes). The thresholds in activities/support_score.py were chosen on
these; this keeps them honest: no unsupported claim kept, at most one true paraphrase removed."""

from __future__ import annotations

from activities.support_score import judge
from domain.report import Claim, Evidence


def text(lines: str) -> str:
    return " ".join(lines.split())


PH = text(
    """
A pumped hydro plant has two water reservoirs at different heights. When electricity is
cheap or plentiful, reversible pump-turbines move water from the lower reservoir to the
upper one, turning electrical energy into gravitational potential energy. When power is
needed, the water runs back down through the same machines, which now work as turbines
driving generators.
"""
)
PERF = text(
    """
Round-trip efficiency is typically 70 to 85 percent. Losses come from friction in the
tunnels, the efficiency of pumps and turbines, and evaporation. Duration is long compared
with batteries: many plants can generate at full power for six to twenty hours, and some
much longer.
"""
)
LI = text(
    """
A lithium-ion cell has two electrodes separated by a porous separator soaked in electrolyte.
During charging, lithium ions leave the positive electrode (the cathode), travel through the
electrolyte and are stored in the negative electrode, which is usually graphite. Nothing is
burned and there are no moving parts, which is why battery systems can respond to a control
signal in a fraction of a second.
"""
)
LFP = text(
    """
Lithium iron phosphate (LFP) stores less energy per kilogram, but it is cheaper, contains no
cobalt or nickel, tolerates many more charge cycles and is far less prone to thermal
runaway. Most new grid batteries use LFP.
"""
)
FLOW = text(
    """
A flow battery stores energy in liquid electrolytes held in external tanks. Pumps circulate
the electrolytes through a cell stack, where they exchange ions across a membrane. Because
the energy lives in the tanks and the power is set by the size of the stack, the two can be
sized separately.
"""
)
PAIRS = [  # (claim, passage, supported)
    ("Pumped hydro plants pump water to an upper reservoir when electricity is cheap.", PH, True),
    (
        "When power is needed, water flows back down through turbines that drive generators.",
        PH,
        True,
    ),
    ("Pumped storage converts electrical energy into gravitational potential energy.", PH, True),
    ("Pumped hydro has a round-trip efficiency of 70 to 85 percent.", PERF, True),
    ("Many pumped hydro plants can run at full power for six to twenty hours.", PERF, True),
    (
        "Battery systems react to control signals within a fraction of a second because "
        "they have no moving parts.",
        LI,
        True,
    ),
    (
        "LFP batteries are cheaper and safer than other lithium chemistries and are used in "
        "most new grid batteries.",
        LFP,
        True,
    ),
    (
        "Flow batteries keep their energy in liquid electrolytes stored in external tanks.",
        FLOW,
        True,
    ),
    ("In a flow battery, power and energy capacity can be sized independently.", FLOW, True),
    ("Gravity lets the plant store energy as water held at height.", PH, True),
    ("Pumped hydro plants need no reservoirs and store energy in compressed air.", PH, False),
    ("Pumped hydro has a round-trip efficiency of 95 percent.", PERF, False),
    ("Pumped hydro plants can only run for a few minutes at full power.", PERF, False),
    ("Lithium-ion cells burn fuel to produce electricity.", LI, False),
    ("LFP contains large amounts of cobalt and nickel.", LFP, False),
    ("Flow batteries store hydrogen gas in underground salt caverns.", FLOW, False),
    ("Heat pumps move heat from cold outdoor air into buildings.", FLOW, False),
    ("Grid inertia comes from the rotating mass of large generators.", LI, False),
    ("Solar panels convert sunlight into electricity with silicon cells.", PH, False),
    ("Sodium-ion batteries avoid lithium and use abundant sodium.", LFP, False),
]


def test_no_unsupported_pair_is_kept_and_few_supported_are_removed() -> None:
    kept_wrongly, removed_wrongly = [], []
    for text, passage, supported in PAIRS:
        claim = Claim(id="c", text=text, evidence=[Evidence(source=1, passage_id="p1")])
        verdict = judge(claim, {1: {"p1": passage}})
        if verdict.supported and not supported:
            kept_wrongly.append(text)
        if supported and not verdict.supported:
            removed_wrongly.append(text)
    assert kept_wrongly == []
    assert len(removed_wrongly) <= 1, removed_wrongly
