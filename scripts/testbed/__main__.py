"""CLI: `python -m scripts.testbed up|down` (see the package docstring)."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from ._net import _LIVE, Testbed, Topology, teardown_prefix, teardown_stale


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.testbed")
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="build a testbed, print its layout as JSON, wait for Ctrl-C")
    d = Topology()
    up.add_argument("--sites", type=int, default=d.sites)
    up.add_argument("--boxes-per-site", type=int, default=d.boxes_per_site)
    up.add_argument("--origin-mbit", type=float, default=d.origin_mbit)
    up.add_argument("--seeder-mbit", type=float, default=d.seeder_mbit)
    up.add_argument("--site-down-mbit", type=float, default=d.site_down_mbit)
    up.add_argument("--site-up-mbit", type=float, default=d.site_up_mbit)
    up.add_argument("--lan-mbit", type=float, default=d.lan_mbit)
    up.add_argument("--detach", action="store_true",
                    help="leave it up and exit (tear down later with `down PREFIX`)")
    down = sub.add_parser("down", help="tear down a run's namespaces")
    down.add_argument("prefix", nargs="?", help="the prefix printed by `up`")
    down.add_argument("--stale", action="store_true",
                      help="every testbed run whose owner process is gone")
    args = ap.parse_args(argv)

    if args.cmd == "down":
        if not args.prefix and not args.stale:
            ap.error("down needs PREFIX or --stale")
        gone = teardown_prefix(args.prefix) if args.prefix else teardown_stale()
        print(json.dumps({"deleted": gone}))
        return 0

    topo = Topology(args.sites, args.boxes_per_site, args.origin_mbit, args.seeder_mbit,
                    args.site_down_mbit, args.site_up_mbit, args.lan_mbit)
    tb = Testbed(topo).up()
    print(json.dumps({
        "prefix": tb.prefix, "topology": topo.as_dict(), "router": tb.router,
        "origin": {"ns": tb.origin.ns, "ip": tb.origin.ip},
        "seeder": {"ns": tb.seeder.ns, "ip": tb.seeder.ip},
        "boxes": [{"ns": b.ns, "ip": b.ip, "site": b.site} for b in tb.boxes],
    }, indent=2), flush=True)
    if args.detach:
        _LIVE.remove(tb)  # keep them at exit: `down PREFIX` removes them later
        return 0
    print("up; Ctrl-C tears it down", file=sys.stderr, flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        tb.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
