"""Whether the session listens: libtorrent reports each listen socket as an alert, success or
failure, all at once at start; the swarm starts serving only once one socket listens."""

from __future__ import annotations

import logging

import trio

from p2pdist.errors import NetworkError
from p2pdist.i18n import _

from ._alerts import AlertPump

log = logging.getLogger(__name__)

LISTEN_TIMEOUT_S = 5.0
LISTEN_GRACE_S = 0.5
"""After a failure, wait this long for another interface to succeed before giving up."""


class ListenWatch:
    """The listen sockets' news, and the port peers connect to (the first that listens)."""

    def __init__(self, interfaces: str) -> None:
        self._interfaces = interfaces
        self.listening = trio.Event()
        self._news = trio.Event()  # a listen socket succeeded or failed
        self._failures: list[str] = []
        self.port = 0

    def listened(self, address: str, port: int) -> None:
        log.info(_("listening on {a}:{p}").format(a=address, p=port))
        if not self.listening.is_set():
            self.port = port
            self.listening.set()
        self._news.set()

    def failed(self, interface: str, reason: str) -> None:
        log.warning(_("cannot listen on {i}: {r}").format(i=interface, r=reason))
        self._failures.append(f"{interface}: {reason}")
        self._news.set()

    async def wait(self, pump: AlertPump) -> None:
        """Pump alerts in this task (no nursery yet, so errors are not grouped) until a socket
        listens.

        Raises:
            NetworkError: none did, naming the interfaces and libtorrent's reasons.
        """
        with trio.move_on_after(LISTEN_TIMEOUT_S):
            await pump.run_until(self._news.is_set)
        if self._failures and not self.listening.is_set():
            with trio.move_on_after(LISTEN_GRACE_S):
                await pump.run_until(self.listening.is_set)
        if not self.listening.is_set():
            raise NetworkError(
                _(
                    "could not listen on {ifaces} ({reasons}); check listen_interfaces in the "
                    "configuration and whether another program uses the port"
                ).format(
                    ifaces=self._interfaces,
                    reasons="; ".join(self._failures) or _("no answer"),
                )
            )
