"""The box daemon: the update machine and the agent that drives it."""

from ._agent import BoxAgent, LanPeer
from ._machine import Input, Output, Phase, UpdateMachine, transition_table

__all__ = ["BoxAgent", "Input", "LanPeer", "Output", "Phase", "UpdateMachine",
           "transition_table"]
