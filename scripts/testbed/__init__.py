"""Network-namespace testbed for p2pdist: sites of boxes behind shaped links, origin, seeder.

Importable (`from scripts.testbed import Testbed, Topology`) and a CLI::

    python -m scripts.testbed up [--sites 4 --boxes-per-site 6 ...]   # build, print JSON, wait
    python -m scripts.testbed down PREFIX | --stale                   # tear down

Needs root (or, unprivileged, a user+network+mount namespace of its own, see bench/README.md):
    unshare -Urnm sh -c 'mount -t tmpfs none /run/netns && exec CMD'
"""

from ._http import ensure_nginx, start_http
from ._net import (
    HTTP_PORT,
    NET,
    PREFIX_ROOT,
    SWARM_PORT,
    Host,
    Testbed,
    TestbedError,
    Topology,
    list_namespaces,
    teardown_prefix,
    teardown_stale,
    testbed,
)
from ._proc import NsProc, NsProcError, stop_all
from ._wan import WanConditions, clear_conditions, uplink, with_conditions

__all__ = [
    "HTTP_PORT",
    "NET",
    "PREFIX_ROOT",
    "SWARM_PORT",
    "Host",
    "NsProc",
    "NsProcError",
    "Testbed",
    "TestbedError",
    "Topology",
    "WanConditions",
    "clear_conditions",
    "ensure_nginx",
    "list_namespaces",
    "start_http",
    "stop_all",
    "teardown_prefix",
    "teardown_stale",
    "testbed",
    "uplink",
    "with_conditions",
]
