"""A wake-up for loops that sleep long while nothing happens: the swarm's idle polls, the mDNS
table's maintenance, and feed requests held until what a node offers changes.

Why: on these machines the kernel charges a process a whole timer tick for each wake-up (a
trio program that only sleeps in loops of 1 s and 2 s is charged 2 % of a core), so an idle
box's CPU is its number of wake-ups, not its work: an empty swarm cost 2.6-3.1 %. Such loops
sleep until whatever could change their answer happens (`set`), bounded by a timeout.
"""

from __future__ import annotations

import trio


class Wakeup:
    """`wait(timeout)` returns at the next `set()` after it began, or after the timeout."""

    def __init__(self) -> None:
        self._event = trio.Event()

    def set(self) -> None:
        self._event.set()
        self._event = trio.Event()

    async def wait(self, timeout_s: float) -> None:
        """Return at the next `set`, or after `timeout_s`."""
        event = self._event
        with trio.move_on_after(timeout_s):
            await event.wait()
