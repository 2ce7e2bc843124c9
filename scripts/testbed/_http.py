"""Static HTTP servers with Range support for the central and mirror baselines.

nginx (Debian's) is the real thing a center would run: sendfile, keep-alive, Range. When it is
missing, `ensure_nginx` can install it with apt-get (root only); otherwise `start_http` falls back
to `_rangeserver`, a threaded Python server with single-range support. The result says which.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ._net import HTTP_PORT, Host, Testbed
from ._proc import NsProc

REPO = Path(__file__).resolve().parents[2]


def ensure_nginx(install: bool) -> str | None:
    """Path of nginx; with `install` (and root), apt-get installs nginx-light when missing."""
    found = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx")
    if found or not install or os.geteuid() != 0:
        return found or None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"],
                 ["apt-get", "install", "-y", "-qq", "nginx-light"]):
        try:
            subprocess.run(argv, env=env, capture_output=True, timeout=300, check=True)
        except (subprocess.SubprocessError, OSError):
            return None
    return shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx") \
        or None


def _nginx_conf(work: Path, host: Host, root: Path) -> Path:
    """A minimal nginx.conf: one server on host.ip:80 serving `root`, state under `work`."""
    work.mkdir(parents=True, exist_ok=True)
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / d).mkdir(exist_ok=True)
    user = "user root;" if os.geteuid() == 0 else ""  # files on tmpfs are 0700, ours
    conf = work / "nginx.conf"
    conf.write_text(f"""{user}
daemon off;
master_process on;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 10000;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    types {{ }}
    default_type application/octet-stream;
    server {{
        listen {host.ip}:{HTTP_PORT};
        root {root};
    }}
}}
""")
    return conf


def _wait_port(tb: Testbed, host: Host, proc: NsProc, timeout: float) -> None:
    """Wait until something listens on host.ip:80 (probed from inside the namespace)."""
    deadline = time.monotonic() + timeout
    probe = [sys.executable, "-c",
             f"import socket;socket.create_connection(('{host.ip}',{HTTP_PORT}),1).close()"]
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"HTTP server on {host.name} exited:\n{proc.stderr_tail}")
        r = subprocess.run(["ip", "netns", "exec", host.ns, *probe], capture_output=True,
                           timeout=10)
        if r.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"HTTP server on {host.name} not listening within {timeout:.0f}s")


def start_http(tb: Testbed, host: Host, root: Path, work: Path, nginx: str | None) -> NsProc:
    """Serve `root` at http://host.ip/ from inside the host's namespace.

    Args:
        nginx: the nginx binary, or None for the Python fallback server.
    """
    if nginx:
        conf = _nginx_conf(work / f"nginx-{host.name}", host, root)
        # -e: the compiled-in error log under /var/log is not writable without root.
        proc = tb.spawn(host, [nginx, "-c", str(conf), "-e", str(conf.parent / "error.log")],
                        name=f"nginx-{host.name}")
    else:
        proc = tb.spawn(host, [sys.executable, "-m", "scripts.testbed._rangeserver", "--bind",
                               host.ip, "--port", str(HTTP_PORT), "--root", str(root)],
                        name=f"http-{host.name}", cwd=REPO)
    _wait_port(tb, host, proc, 15)
    return proc


__all__ = ["ensure_nginx", "start_http"]
