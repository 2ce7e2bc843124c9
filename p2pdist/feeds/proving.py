"""The agent's one-call hook for election proofs: True when a neighbour proves its node id.

A failed proof is logged once per call and means only "not proven (yet)": the neighbour can
still serve bytes as any peer, it just cannot win the site's election.
"""

from __future__ import annotations

import logging

import trio

from p2pdist.errors import P2PDistError
from p2pdist.i18n import _

from ._client import prove_identity

log = logging.getLogger(__name__)

PROVE_TIMEOUT_S = 5.0


async def proves(url: str, node_id: str) -> bool:
    """Challenge `url` to prove `node_id`; False (logged) on any failure, never raises."""
    try:
        with trio.fail_after(PROVE_TIMEOUT_S):
            await prove_identity(url, node_id, timeout_s=PROVE_TIMEOUT_S - 1)
    except (P2PDistError, trio.TooSlowError) as e:
        log.warning(_("neighbour {url} does not prove node id {id}: {err}").format(
            url=url, id=node_id[:16], err=e))
        return False
    return True
