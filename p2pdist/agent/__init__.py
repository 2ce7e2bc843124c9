"""The box daemon: the update machine and the agent that drives it.

`ask`, `Offer`, `Source`, `SourceFailure` (asking feeds what they offer), `Redial` and `resolve`
(supervising a download's peers) are shared with the seeder's follower.
"""

from ..backoff import Redial
from ._agent import BoxAgent
from ._machine import Input, Output, Phase, UpdateMachine, transition_table
from ._policy import LanPeer, SourcePolicy
from ._sources import Offer, Source, SourceFailure, ask
from ._supervise import Stall, resolve, salvage

__all__ = ["BoxAgent", "Input", "LanPeer", "Offer", "Output", "Phase", "Redial", "Source",
           "SourceFailure", "SourcePolicy", "Stall", "UpdateMachine", "ask", "resolve", "salvage",
           "transition_table"]
