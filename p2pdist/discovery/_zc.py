"""The only module that calls python-zeroconf: blocking calls, run on trio worker threads.

python-zeroconf (threaded mode) runs its own asyncio loop on a thread of its own and its
`ServiceBrowser` calls handlers on yet another thread. Every function here blocks and is meant for
`trio.to_thread.run_sync`; every foreign failure leaves as a `NetworkError` or is logged. Nothing
here touches trio objects.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import logging
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# DNSPointer is importable from the package (kept for compatibility) but missing from __all__.
from zeroconf import (  # type: ignore[attr-defined]
    DNSPointer,
    InterfaceChoice,
    IPVersion,
    NonUniqueNameException,
    ServiceBrowser,
    ServiceInfo,
    Zeroconf,
    current_time_millis,
)
from zeroconf import Error as ZeroconfError

from p2pdist.errors import ConfigError, NetworkError
from p2pdist.i18n import _

from ._advert import SERVICE_TYPE, Advert, instance_label

log = logging.getLogger(__name__)

MAX_NAME_ATTEMPTS = 5
"""Instance names tried (``p2pdist-<id>``, ``-2``, ...) before registration gives up."""
_DNS_TYPE_PTR = 12  # RFC 1035
_DNS_CLASS_IN = 1
_TYPE_SUFFIX = "." + SERVICE_TYPE
_GOODBYE_MARGIN_MS = 2000
"""A goodbye leaves a record in the cache for one more second; such a record is not a neighbour."""


def check_interfaces(interfaces: Sequence[str] | None) -> list[str] | None:
    """Validate the addresses of the interfaces to announce and browse on.

    Args:
        interfaces: IP literals of local interfaces, or None for all interfaces.

    Returns:
        A normalized copy.

    Raises:
        ConfigError: an entry is not an IP address, or the list is empty.
    """
    if interfaces is None:
        return None
    if isinstance(interfaces, str) or not interfaces:
        raise ConfigError(_("give at least one interface address for discovery, or none at all"))
    checked = []
    for address in interfaces:
        try:
            checked.append(str(ipaddress.ip_address(address)))
        except ValueError:
            raise ConfigError(
                _("{a!r} is not an interface address (write an IP such as 192.168.1.10)").format(
                    a=address
                )
            ) from None
    return checked


def machine_addresses(if_addrs: Mapping[str, Sequence[Any]]) -> tuple[str, ...]:
    """The addresses worth announcing among the machine's interfaces (pure).

    IPv4 link-local (169.254/16) stays: a station's switch without a DHCP server is exactly where
    boxes fall back to it. Loopback is useless to neighbours; IPv6 link-local needs the
    receiver's own scope, which our advert cannot give.

    Args:
        if_addrs: what `psutil.net_if_addrs()` returns.

    Returns:
        IP literals, sorted (so an unchanged machine gives an equal tuple).
    """
    found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for entries in if_addrs.values():
        for entry in entries:
            if entry.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            try:
                ip = ipaddress.ip_address(str(entry.address).split("%", 1)[0])
            except ValueError:
                continue
            if ip.is_loopback or ip.is_unspecified or ip.is_multicast:
                continue
            if ip.version == 6 and ip.is_link_local:
                continue
            found.add(ip)
    return tuple(str(ip) for ip in sorted(found, key=lambda ip: (ip.version, int(ip))))


def open_zeroconf(interfaces: list[str] | None) -> Zeroconf:
    """Open a threaded Zeroconf on the given interface addresses (None: all).

    Raises:
        NetworkError: the multicast sockets cannot be opened.
    """
    try:
        # use_asyncio=False: always its own loop thread, whatever runs on the calling thread.
        if interfaces is None:
            return Zeroconf(
                interfaces=InterfaceChoice.All, ip_version=IPVersion.V4Only, use_asyncio=False
            )
        # A list picks IPv4 and/or IPv6 from the addresses it holds.
        return Zeroconf(interfaces=list(interfaces), use_asyncio=False)
    except (OSError, ZeroconfError, ValueError) as e:
        where = _("all interfaces") if interfaces is None else ", ".join(interfaces)
        raise NetworkError(
            _("cannot start mDNS on {where}: {reason}").format(where=where, reason=e)
        ) from e


def start_browser(zc: Zeroconf, handler: Callable[..., None]) -> ServiceBrowser:
    """Browse for `_p2pdist._tcp`; `handler` runs on the browser's own thread."""
    return ServiceBrowser(zc, SERVICE_TYPE, handlers=[handler])


def service_info(advert: Advert, addresses: Sequence[str], label: str) -> ServiceInfo:
    """The DNS-SD records for our advert under the instance label `label`."""
    return ServiceInfo(
        SERVICE_TYPE,
        f"{label}.{SERVICE_TYPE}",
        port=advert.feed_port,
        properties=advert.to_txt(),
        # Our own host name, not gethostname(): cloned boxes share one.
        server=f"{label}.local.",
        parsed_addresses=list(addresses),
    )


def register(zc: Zeroconf, advert: Advert, addresses: Sequence[str]) -> ServiceInfo:
    """Probe for a free instance name and announce our records (~1.6 s of probing).

    Returns:
        The registered records (their name is needed to update and withdraw them).

    Raises:
        NetworkError: no free name after `MAX_NAME_ATTEMPTS`, or zeroconf failed.
    """
    for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
        info = service_info(advert, addresses, instance_label(advert.node_id, attempt))
        try:
            zc.register_service(info)
        except NonUniqueNameException:
            log.info(_("mDNS name {n} is taken on this LAN; trying another").format(n=info.name))
            continue
        except ZeroconfError as e:
            raise NetworkError(_("cannot announce this node by mDNS: {r}").format(r=e)) from e
        return info
    raise NetworkError(
        _("no free mDNS name for node {id} after {n} tries; is another node using its id?").format(
            id=advert.node_id, n=MAX_NAME_ATTEMPTS
        )
    )


def update(zc: Zeroconf, info: ServiceInfo, refresh_interfaces: bool) -> None:
    """Announce changed records under the registered name.

    Args:
        zc: the open Zeroconf.
        info: the new records (same name as the registered ones).
        refresh_interfaces: reopen sockets first, because the machine's addresses changed.

    Raises:
        NetworkError: zeroconf failed.
    """
    try:
        if refresh_interfaces:
            zc.update_interfaces()
        zc.update_service(info)
    except (OSError, ZeroconfError) as e:
        raise NetworkError(_("cannot update this node's mDNS records: {r}").format(r=e)) from e


def resolve(zc: Zeroconf, name: str, timeout_s: float) -> ServiceInfo | None:
    """A neighbour's records, from zeroconf's cache or by asking (at most `timeout_s`).

    Returns:
        The records, or None when they did not arrive in time or zeroconf refused the name (a
        neighbour's failure is never ours, so nothing is raised).
    """
    try:
        return zc.get_service_info(SERVICE_TYPE, name, timeout=int(timeout_s * 1000))
    except (OSError, ZeroconfError) as e:
        log.debug(_("cannot resolve {name!r}: {e}").format(name=name, e=e))
        return None


def cached_names(zc: Zeroconf, timeout_s: float) -> list[str]:
    """The instance names zeroconf currently holds for our type (its cache is the truth).

    Reading the cache on zeroconf's own loop avoids racing its updates. Returns [] when the
    loop does not answer within `timeout_s` or is closed.
    """

    async def names() -> list[str]:
        now = current_time_millis()
        return [
            r.alias
            for r in zc.cache.async_all_by_details(SERVICE_TYPE, _DNS_TYPE_PTR, _DNS_CLASS_IN)
            if isinstance(r, DNSPointer)
            and r.alias.endswith(_TYPE_SUFFIX)
            and not r.is_expired(now + _GOODBYE_MARGIN_MS)
        ]

    loop = zc.loop
    if loop is None or loop.is_closed():
        return []
    future = asyncio.run_coroutine_threadsafe(names(), loop)
    try:
        return future.result(timeout_s)
    except (concurrent.futures.TimeoutError, RuntimeError):
        future.cancel()
        return []


def close(zc: Zeroconf, info: ServiceInfo | None) -> None:
    """Send goodbye packets for our records (if registered) and close the sockets.

    Stop the browser first (`Browsing.run` does): its thread must not outlive the sockets.
    """
    try:
        if info is not None:
            zc.unregister_service(info)
    except (OSError, ZeroconfError) as e:
        log.warning(_("mDNS did not withdraw this node cleanly: {r}").format(r=e))
    finally:
        zc.close()
