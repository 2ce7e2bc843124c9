"""Benchmark: a large release on a small box, through the real daemons, figures beside targets.

One run per size F (default 1, 5 and 10 GB; `--size 40GB` where the disk allows), each on disk
under `--dir` (not tmpfs: page cache, writeback and disk reads are what is measured):

1. sample content (incompressible), `release build` (timed), `release sign`, `release verify
   --content` (timed, files evicted from the page cache first), `release publish` to an origin;
2. `p2pdist seeder run` (the origin) and `p2pdist box run` (box A) as processes; A is SIGKILLed
   at 40 % and 95 % of the download and once in its final check, and restarted each time;
3. box B fetches from A alone (the origin stopped): A seeds a verified release;
4. `export` of A, `import` into a fresh box C (timed);
5. an update: 3 of the 24 films change, the origin publishes v2, A fetches it;
6. `p2pdist verify` of A (timed, cold cache).

A sampler thread reads /proc/PID/status (VmRSS, VmHWM), /proc/PID/io (read_bytes, write_bytes,
rchar) of every daemon and A's `status` over the control socket every 0.25 s. VmHWM is reset
(clear_refs 5) when A starts seeding, so its seeding peak is its own. Files are evicted from the
page cache with posix_fadvise (per file; nothing global) before each phase whose disk reads count.

Usage: .venv/bin/python bench/scale.py [--size 1GB --size 5GB ...] [--dir /var/tmp] [--out DIR]
Writes DIR/scale.json + scale.png; the last line printed is one JSON object (the largest run's
figures). Data is deleted after each size.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from p2pdist.control import request  # noqa: E402
from p2pdist.fs import place  # noqa: E402
from p2pdist.sample import parse_size, write_sample  # noqa: E402
from p2pdist.torrent import create_hybrid_torrent  # noqa: E402
from tests.world import free_port, make_trust_root  # noqa: E402

RESULTS = REPO / "bench" / "results"
GB = 10**9
CHANGED_FILMS = 3
TARGETS: dict[str, tuple[str, float]] = {
    "box_peak_rss_mb": ("<=", 100.0),
    "rss_growth_mb_1_to_10GB": ("<=", 15.0),
    "seeder_peak_rss_mb": ("<=", 150.0),
    "write_amplification": ("<=", 1.05),
    "seed_read_amplification": ("<=", 1.1),
    "update_hash_over_changed": ("<=", 1.1),
    "first_byte_s": ("<=", 3.0),
    "verify_over_sha256": (">=", 0.8),
    "build_over_sha256": (">=", 0.5),
    "resume_refetch_fraction_max": ("<=", 0.01),
}


def log(msg: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cli(*args: str | Path, timeout: float = 3600) -> float:
    """Run `p2pdist ARGS` as a process; seconds taken. Raises on failure."""
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "p2pdist", *map(str, args)], capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise SystemExit(f"p2pdist {' '.join(map(str, args))} failed ({r.returncode}):\n"
                         f"{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    return time.monotonic() - t0


def evict(folder: Path) -> None:
    """Drop `folder`'s files from the page cache (written back first), one file at a time."""
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            with contextlib.suppress(OSError):
                fd = os.open(p, os.O_RDONLY)
                try:
                    os.fdatasync(fd)
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)


def sha256_one_core_mbps() -> float:
    """One core's SHA-256 speed over an in-memory buffer (the reference for every ratio)."""
    buf = os.urandom(64 << 20)
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        hashlib.sha256(buf).digest()
        best = max(best, len(buf) / (time.perf_counter() - t0))
    return best / 1e6


def ceilings(work: Path, bundle: int) -> dict[str, float]:
    """What this machine itself does, in MB/s, beside which `import` and `release build` are
    judged: copying 1 GiB (less for a smaller bundle) on this disk, cache evicted, with fsync
    (`import` cannot copy faster), and libtorrent creating a hybrid torrent of it alone
    (`release build` waits for that pass: the binding hashes v1 and v2 on one thread and has
    no `set_hash2` to take hashes computed elsewhere)."""
    folder = work / "ceiling"
    folder.mkdir()
    src = folder / "one.bin"
    size = min(1 << 30, max(1, bundle >> 26) << 26)
    with open(src, "wb") as f:
        for _ in range(size // (64 << 20)):
            f.write(os.urandom(64 << 20))
    evict(folder)
    t0 = time.perf_counter()
    place(src, work / "ceiling-copy.bin", link=False)
    copy_s = time.perf_counter() - t0
    (work / "ceiling-copy.bin").unlink()
    evict(folder)
    t0 = time.perf_counter()
    create_hybrid_torrent(folder, "ceiling", [("one.bin", size)])
    create_s = time.perf_counter() - t0
    shutil.rmtree(folder)
    return {"disk_copy_mbps": round(size / copy_s / 1e6, 1),
            "libtorrent_create_mbps": round(size / create_s / 1e6, 1)}


from scale_procs import (  # noqa: E402
    CHANNEL,
    Daemon,
    Sampler,
    _channel,
    _torrent,
    active,
    done_at_least,
)

# -- one size ---------------------------------------------------------------------------------


@contextlib.contextmanager
def workdir(base: str | None, keep: bool) -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="p2pdist-scale-", dir=base))
    try:
        yield work
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def build(work: Path, content: Path, version: int) -> tuple[Path, float]:
    m = work / f"m{version}"
    s = cli("release", "build", content, "--channel", CHANNEL, "--version", str(version),
            "--catalog", content / "catalog.toml", "--out", m)
    cli("release", "sign", m, "--key", work / "release")
    return m, s


def restart_lost(s: Sampler, box: Daemon, at: int) -> int:
    """Kill -9 box A now (it had `at` bytes verified), restart it, and return what the new
    process does not find of those bytes: at - (bytes done - bytes received) once it runs."""
    box.kill9()
    s.status = None  # the killed process's last answer must not be taken for the new one's
    box.start()
    started = box.started
    s.wait("box A back after kill", lambda st: s.status_at > started
           and (t := _torrent(st)) is not None
           and t["state"] not in ("checking",), 600)
    # libtorrent may report the torrent before its resume data is applied: read again a moment
    # later; bytes received meanwhile are subtracted.
    time.sleep(1.5)
    st = s.wait("box A status", lambda st: _torrent(st) is not None, 60)
    t = _torrent(st)
    assert t is not None
    found = int(t["bytes_done"]) - int(sum(t["received"].values()))
    return max(0, at - found)


def run_size(size: int, args: argparse.Namespace, sha_mbps: float) -> dict[str, Any]:
    with workdir(args.dir, args.keep) as work:
        logs = work / "logs"
        logs.mkdir()
        log(f"F = {size / GB:.2f} GB in {work}")
        root = make_trust_root(work, cli)
        c1 = work / "c1"
        write_sample(c1, size, seed=7)
        bundle_bytes = sum(p.stat().st_size for p in c1.rglob("*") if p.is_file()
                           and p.name != "catalog.toml")
        evict(c1)
        m1, build_s = build(work, c1, 1)
        evict(c1)
        verify_content_s = cli("release", "verify", m1, "--root", root, "--content", c1)
        ports = {k: free_port("127.0.0.1") for k in ("o_swarm", "o_feed")}
        a_ip, b_ip, c_ip = "127.0.0.2", "127.0.0.3", "127.0.0.4"
        cli("seeder", "init", "--out", work / "origin.toml", "--data", work / "origin", "--root",
            root, "--channel", CHANNEL, "--origin", "--listen", f"127.0.0.1:{ports['o_swarm']}",
            "--feed", f"127.0.0.1:{ports['o_feed']}", "--metrics", "", "--poll", "1")
        cli("release", "publish", m1, "--content", c1, "--to", work / "origin", "--root", root)
        feed = f"http://127.0.0.1:{ports['o_feed']}"
        a_feed = f"{a_ip}:{free_port(a_ip)}"
        # B's seeder is box A's feed (a box serves the same feed API as a seeder).
        for name, ip, seeder, feed_at in (("a", a_ip, feed, a_feed),
                                          ("b", b_ip, f"http://{a_feed}", None),
                                          ("c", c_ip, None, None)):
            extra = ["--seeder", seeder] if seeder else []
            cli("box", "init", "--data", work / name, "--root", root, "--channel", CHANNEL,
                *extra, "--listen", f"{ip}:{free_port(ip)}", "--feed",
                feed_at or f"{ip}:{free_port(ip)}", "--no-mdns", "--poll", "1")
        origin = Daemon("origin", ["seeder", "run", "--config", str(work / "origin.toml")], logs)
        box_a = Daemon("box_a", ["box", "run", "--data", str(work / "a")], logs)
        box_b = Daemon("box_b", ["box", "run", "--data", str(work / "b")], logs)
        s = Sampler([origin, box_a, box_b], work / "a")
        out: dict[str, Any] = {"bundle_bytes": bundle_bytes}
        try:
            out.update(download_phases(s, work, size, origin, box_a, box_b, feed,
                                       ports["o_swarm"]))
            box_b.stop()
            shutil.rmtree(work / "b", ignore_errors=True)
            # export + import (timed), then drop both copies
            cli("export", work / "usb", "--create", "--data", work / "a", timeout=3600)
            evict(work / "usb")
            import_s = cli("import", work / "usb", "--data", work / "c", timeout=3600)
            shutil.rmtree(work / "usb", ignore_errors=True)
            shutil.rmtree(work / "c", ignore_errors=True)
            out.update(update_phase(s, work, size, box_a, root))
            box_a.stop()
            evict(work / "a")
            verify_s = cli("verify", "--data", work / "a", timeout=3600)
        finally:
            s.phase = "end"
            for d in (box_a, box_b, origin):
                d.stop()
            s.close()
            if args.keep_logs:
                shutil.copytree(logs, Path(args.out) / f"logs-{size}", dirs_exist_ok=True)
        ceiling = ceilings(work, size)
        mbps = {"build": size / build_s / 1e6, "release_verify": size / verify_content_s / 1e6,
                "import": size / import_s / 1e6, "verify": size / verify_s / 1e6}
        out.update({
            "sha256_one_core_mbps": round(sha_mbps, 1),
            "speeds_mbps": {k: round(v, 1) for k, v in mbps.items()},
            "build_over_sha256": round(mbps["build"] / sha_mbps, 3),
            "verify_over_sha256": round(min(mbps["verify"], mbps["release_verify"],
                                            mbps["import"]) / sha_mbps, 3),
            "verify_each_over_sha256": {k: round(mbps[k] / sha_mbps, 3)
                                        for k in ("verify", "release_verify", "import")},
            **ceiling,
            "import_over_disk_copy": round(mbps["import"] / ceiling["disk_copy_mbps"], 3),
            "build_over_libtorrent_create": round(
                mbps["build"] / ceiling["libtorrent_create_mbps"], 3),
            "samples": s.samples,
        })
        return out


def plain_reference(work: Path, origin_port: int) -> dict[str, Any]:
    """Plain libtorrent with the box's settings fetching the same torrent from the origin (see
    bench/plain_download.py): the memory libtorrent itself needs, beside the box's."""
    from p2pdist.store import Store

    torrent = work / "plain.torrent"
    torrent.write_bytes(Store(work / "origin").load_manifest(CHANNEL, 1).torrent)
    r = subprocess.run([sys.executable, str(REPO / "bench" / "plain_download.py"), str(torrent),
                        str(work / "plain"), "127.0.0.5", str(origin_port)],
                       capture_output=True, text=True, timeout=3600, stdin=subprocess.DEVNULL)
    shutil.rmtree(work / "plain", ignore_errors=True)
    if r.returncode != 0:
        raise SystemExit(f"plain libtorrent download failed:\n{r.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    log(f"plain libtorrent: peak RSS {result['peak_rss_mb']} MB in {result['seconds']} s")
    return result


def download_phases(s: Sampler, work: Path, size: int, origin: Daemon, box_a: Daemon,
                    box_b: Daemon, feed: str, origin_port: int) -> dict[str, Any]:
    s.phase = "origin start"
    origin.start()
    _wait_feed(feed)
    evict(work / "origin")
    origin.reset_hwm()
    o_read0 = origin.read() or {}
    s.phase = "download"
    box_a.start()
    t0 = box_a.started
    first = None
    lost: dict[str, int] = {}
    for frac, label in ((0.40, "kill_40"), (0.95, "kill_95")):
        st = s.wait(f"{frac:.0%}", done_at_least(int(frac * size)), 3600)
        if first is None:
            first = _first_byte(s, t0)
        t = _torrent(st)
        assert t is not None
        lost[label] = restart_lost(s, box_a, t["bytes_done"])
        log(f"{label}: lost {lost[label]} bytes")
    # the final check: every piece is in, the agent checks the files before activating
    st = s.wait("final check", lambda st: _channel(st).get("phase") in ("checking",
                                                                         "activating",
                                                                         "seeding"), 3600)
    if _channel(st).get("phase") == "checking":
        lost["kill_check"] = restart_lost(s, box_a, size)
    else:
        lost["kill_check"] = -1  # the check was over before it could be caught
    log(f"kill_check: lost {lost['kill_check']}")
    s.wait("v1 active on box A", active(1), 3600)
    box_a.read()
    origin.read()
    dl_hwm = box_a.peak()
    o_sent = size + sum(v for v in lost.values() if v > 0)  # what the box needed, at least
    received = box_a_received(s)
    write_amp = box_a.total("write_bytes") / max(received, 1)
    origin_read = (origin.last.get("read_bytes", 0) - o_read0.get("read_bytes", 0))
    origin_hwm = origin.peak()
    s.phase = "plain libtorrent"
    plain = plain_reference(work, origin_port)
    # Box A seeds a verified release to box B; the origin is gone, so B can only take from A.
    s.phase = "seed"
    origin.stop()
    box_a.stop()  # a restart: A adds its active release as a daemon would after a reboot
    evict(work / "a")
    box_a.start()
    s.wait("box A seeding after restart", active(1), 600)
    box_a.reset_hwm()
    a_read0 = (box_a.read() or {}).get("read_bytes", 0)
    a_sent0 = (_torrent(s.status) or {}).get("total_payload_upload", 0)
    box_b.start()
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        try:
            st_b = request(work / "b", "status", timeout=2)
            if _channel(st_b).get("active_version") == 1:
                break
        except Exception:  # not up yet
            pass
        time.sleep(0.25)
    else:
        raise SystemExit("box B never activated v1 from box A")
    time.sleep(1)
    fig = box_a.read() or {}
    a_sent = (_torrent(s.status) or {}).get("total_payload_upload", 0) - a_sent0
    seed_hwm = fig.get("VmHWM", 0)
    b_hwm = box_b.read() or {}
    return {
        "first_byte_s": first,
        "resume_refetch_bytes": lost,
        "resume_refetch_fraction_max": round(max(lost.values()) / size, 5),
        "box_download_peak_rss_mb": round(dl_hwm / 2**20, 1),
        "plain_libtorrent_peak_rss_mb": plain["peak_rss_mb"],
        "box_over_plain_libtorrent_mb": round(dl_hwm / 2**20 - plain["peak_rss_mb"], 1),
        "box_b_download_peak_rss_mb": round(b_hwm.get("VmHWM", 0) / 2**20, 1),
        "box_b_download_peak_anon_mb": round(box_b.peak_anon(s.samples) / 2**20, 1),
        "box_download_peak_anon_mb": round(box_a.peak_anon(s.samples, "download") / 2**20, 1),
        "box_seed_peak_rss_mb": round(seed_hwm / 2**20, 1),
        "box_peak_rss_mb": round(max(dl_hwm, seed_hwm) / 2**20, 1),
        "seeder_peak_rss_mb": round(origin_hwm / 2**20, 1),
        "box_written_bytes": box_a.total("write_bytes"),
        "box_received_bytes": received,
        "write_amplification": round(write_amp, 4),
        "origin_read_bytes": origin_read,
        "origin_sent_bytes_min": o_sent,
        "origin_read_amplification": round(origin_read / max(o_sent, 1), 3),
        "box_seed_read_bytes": fig.get("read_bytes", 0) - a_read0,
        "box_seed_sent_bytes": a_sent,
        "seed_read_amplification": round((fig.get("read_bytes", 0) - a_read0) / max(a_sent, 1),
                                         3),
    }


def box_a_received(s: Sampler) -> int:
    """Payload box A received over all its lives (the ledger restarts with each process)."""
    total, last, prev_t = 0, 0, None
    for row in s.samples:
        t = row.get("box_torrent")
        if t is None or row["phase"] != "download":
            continue
        if t["received"] < last:  # a new process
            total += last
        last = t["received"]
        prev_t = row["t"]
    del prev_t
    return total + last


def _first_byte(s: Sampler, t0: float) -> float | None:
    for row in s.samples:
        t = row.get("box_torrent")
        if t and t["received"] > 0:
            return round(float(row["t"]) - (t0 - s.t0), 2)
    return None


def _wait_feed(feed: str) -> None:
    import urllib.error
    import urllib.request
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(feed, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the origin's feed {feed} never answered")


def update_phase(s: Sampler, work: Path, size: int, box_a: Daemon, root: Path) -> dict[str, Any]:
    c2 = work / "c2"
    write_sample(c2, size, seed=7, change_films=CHANGED_FILMS)
    m2, _s = build(work, c2, 2)
    from manifest import Manifest, decode_envelope
    v1 = Manifest.decode_body(decode_envelope((work / "m1").read_bytes()).signed)
    v2 = Manifest.decode_body(decode_envelope(m2.read_bytes()).signed)
    old = {f.sha256 for f in v1.files}
    changed = sum(f.size for f in v2.files if f.sha256 not in old)
    origin = Daemon("origin2", ["seeder", "run", "--config", str(work / "origin.toml")],
                    work / "logs")
    s.daemons.append(origin)
    origin.start()
    shutil.rmtree(work / "c1", ignore_errors=True)
    box_a.stop()  # a fresh process, so its counters cover the update only
    evict(work / "a")
    box_a.start()
    st0 = s.wait("box A seeding v1", active(1), 600)
    fig0 = box_a.read() or {}
    s.phase = "update"
    t0 = time.monotonic()
    cli("release", "publish", m2, "--content", c2, "--to", work / "origin", "--root", root)
    st = s.wait("v2 active on box A", active(2), 3600)
    took = time.monotonic() - t0
    fig1 = box_a.read() or {}
    checked = any(r.get("phase") == "update" and r.get("box_torrent", {}).get("state") ==
                  "checking" for r in s.samples)
    received = sum((_torrent(st) or {}).get("received", {}).values())
    python_read = fig1.get("rchar", 0) - fig0.get("rchar", 0)
    disk_read = fig1.get("read_bytes", 0) - fig0.get("read_bytes", 0)
    # libtorrent hashes what it receives once (counted as received; it reads back a piece
    # whose blocks reached the disk first, which rchar counts too); a recheck of reused files
    # reads them from the (cold) disk; the box's own hashing it reports itself.
    python_hashed = int(st.get("hashed_bytes", 0)) - int(st0.get("hashed_bytes", 0))
    lt_checked = max(0, disk_read - python_read) if checked else 0
    hashed = received + python_hashed + lt_checked
    origin.stop()
    shutil.rmtree(work / "c2", ignore_errors=True)
    shutil.rmtree(work / "origin", ignore_errors=True)
    return {
        "update_changed_bytes": changed,
        "update_received_bytes": received,
        "update_python_read_bytes": python_read,
        "update_python_hashed_bytes": python_hashed,
        "update_disk_read_bytes": disk_read,
        "update_libtorrent_rechecked": checked,
        "update_hashed_bytes": hashed,
        "update_hash_over_changed": round(hashed / max(changed, 1), 3),
        "update_seconds": round(took, 1),
    }


# -- results ----------------------------------------------------------------------------------


def verdicts(res: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for key, (op, limit) in TARGETS.items():
        v = res.get(key)
        ok = None if v is None else (v <= limit if op == "<=" else v >= limit)
        out[key] = {"value": v, "target": f"{op} {limit:g}", "met": ok}
    return out


def plot(runs: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, len(runs), figsize=(6 * len(runs), 7), squeeze=False)
    for col, (label, r) in enumerate(runs.items()):
        ax, bx = axes[0][col], axes[1][col]
        for name in ("origin", "box_a", "box_b", "origin2"):
            pts = [(row["t"], row[name]["rss"] / 2**20) for row in r["samples"] if name in row]
            if pts:
                ax.plot(*zip(*pts, strict=True), label=f"{name} RSS")
        ax.axhline(100, color="grey", ls="--", lw=0.8)
        ax.set_title(f"F = {label}: resident memory (MB)")
        ax.set_xlabel("s")
        ax.legend(fontsize=7)
        rows = [(row["t"], row["box_torrent"]["done"] / 1e9, row["box_a"]["write"] / 1e9)
                for row in r["samples"] if "box_torrent" in row and "box_a" in row]
        if rows:
            t, done, wr = zip(*rows, strict=True)
            bx.plot(t, done, label="box A verified (GB)")
            bx.plot(t, wr, label="box A written by this process (GB)")
        for name in ("origin", "box_a"):
            pts2 = [(row["t"], row[name]["read"] / 1e9) for row in r["samples"] if name in row]
            if pts2:
                bx.plot(*zip(*pts2, strict=True), label=f"{name} disk read (GB)", lw=0.8)
        bx.set_xlabel("s")
        bx.set_title("bytes")
        bx.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", action="append", help="bundle size (repeat); default 1,5,10 GB")
    ap.add_argument("--dir", default="/var/tmp", help="where the data goes (a disk, not tmpfs)")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--keep", action="store_true", help="keep the data (debugging)")
    ap.add_argument("--keep-logs", action="store_true", help="copy daemon logs to --out")
    args = ap.parse_args()
    sizes = [parse_size(x) for x in (args.size or ["1GB", "5GB", "10GB"])]
    Path(args.out).mkdir(parents=True, exist_ok=True)
    sha = sha256_one_core_mbps()
    log(f"one-core SHA-256: {sha:.0f} MB/s")
    runs: dict[str, dict[str, Any]] = {}
    line = ""
    for size in sorted(sizes):
        runs[f"{size / GB:g}GB"] = run_size(size, args, sha)
        line = write_results(runs, Path(args.out))  # after each size: a long run keeps its part
    print(line)


def write_results(runs: dict[str, dict[str, Any]], out: Path) -> str:
    """scale.json (the largest size's figures at the top) and scale.png; the summary line."""
    by_size = sorted(runs.values(), key=lambda r: r["bundle_bytes"])
    small, largest = by_size[0], by_size[-1]
    growth = (round(largest["box_peak_rss_mb"] - small["box_peak_rss_mb"], 1)
              if len(by_size) > 1 else None)
    top = {k: v for k, v in largest.items() if k != "samples"}
    top["rss_growth_mb_1_to_10GB"] = growth
    top["rss_growth_sizes"] = [small["bundle_bytes"], largest["bundle_bytes"]]
    result = {
        "bench": "scale",
        **top,
        "targets": verdicts(top),
        "runs": {k: {kk: vv for kk, vv in r.items() if kk != "samples"} for k, r in runs.items()},
        "samples": {k: r["samples"] for k, r in runs.items()},
    }
    (out / "scale.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(runs, out / "scale.png")
    return json.dumps({k: v for k, v in result.items() if k not in ("samples", "runs")})


if __name__ == "__main__":
    main()
