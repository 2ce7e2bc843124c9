"""The passphrase of an encrypted key is asked on the terminal: hidden, twice on `generate`, once
on `release sign`/`keys root sign` (through a real pty and the installed command)."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

PASSPHRASE = b"correct horse battery"
DEADLINE_S = 60


class Terminal:
    """A command on a pseudo-terminal: what it printed, and typing into it."""

    def __init__(self, *args: str | Path, cwd: Path) -> None:
        self.master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k != "P2PDIST_PASSPHRASE"}
        env["LANG"] = "C"
        self.proc = subprocess.Popen([str(Path(sys.executable).with_name("p2pdist")),
                                      *map(str, args)], stdin=slave, stdout=slave,
                                     stderr=slave, cwd=cwd, env=env, close_fds=True)
        os.close(slave)
        self.seen = b""

    def expect(self, text: bytes) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while text not in self.seen:
            assert time.monotonic() < deadline, f"no {text!r} in {self.seen!r}"
            ready, _w, _x = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:  # the command ended and closed the terminal
                    assert text in self.seen, f"no {text!r} in {self.seen!r}"

    def type(self, line: bytes) -> None:
        os.write(self.master, line + b"\n")

    def finish(self) -> int:
        try:
            code = self.proc.wait(DEADLINE_S)
        finally:
            with_rest = select.select([self.master], [], [], 0.2)[0]
            if with_rest:
                with contextlib.suppress(OSError):  # already closed by the command's end
                    self.seen += os.read(self.master, 65536)
            os.close(self.master)
        return code


def test_generate_asks_twice_hidden_and_sign_asks_once(tmp_path: Path) -> None:
    t = Terminal("keys", "generate", "keys/release", "--encrypt", cwd=tmp_path)
    t.expect(b"assphrase")
    t.type(PASSPHRASE)
    t.expect(b"epeat")  # click's confirmation prompt
    t.type(PASSPHRASE)
    assert t.finish() == 0, t.seen
    assert PASSPHRASE not in t.seen  # hidden input: never echoed
    assert b"encrypted" in t.seen
    assert b"ENCRYPTED" in (tmp_path / "keys" / "release").read_bytes()[:64]

    # a manifest to sign: the root key signs a root file instead (same passphrase path)
    for name in ("root-a",):
        subprocess.run([str(Path(sys.executable).with_name("p2pdist")), "keys", "generate",
                        f"keys/{name}"], cwd=tmp_path, check=True, capture_output=True)
    subprocess.run([str(Path(sys.executable).with_name("p2pdist")), "keys", "root", "init",
                    "--root-key", "keys/release.pub", "--threshold", "1", "--release-key",
                    "keys/root-a.pub", "--release-threshold", "1", "--channel", "national/",
                    "--out", "root.v1"], cwd=tmp_path, check=True, capture_output=True)
    t = Terminal("keys", "root", "sign", "root.v1", "--key", "keys/release", cwd=tmp_path)
    t.expect(b"assphrase for keys/release")
    t.type(PASSPHRASE)
    assert t.finish() == 0, t.seen
    assert PASSPHRASE not in t.seen
    assert b"1 of 1 required signatures" in t.seen


def test_a_wrong_passphrase_on_the_terminal_is_named(tmp_path: Path) -> None:
    t = Terminal("keys", "generate", "k", "--encrypt", cwd=tmp_path)
    t.expect(b"assphrase")
    t.type(PASSPHRASE)
    t.expect(b"epeat")
    t.type(PASSPHRASE)
    assert t.finish() == 0
    t = Terminal("keys", "show", "k", cwd=tmp_path)
    assert t.finish() == 0  # show does not need the passphrase: it says "encrypted"
    subprocess.run([str(Path(sys.executable).with_name("p2pdist")), "keys", "root", "init",
                    "--root-key", "k.pub", "--threshold", "1", "--release-key", "k.pub",
                    "--release-threshold", "1", "--channel", "national/", "--out", "r"],
                   cwd=tmp_path, check=True, capture_output=True)
    t = Terminal("keys", "root", "sign", "r", "--key", "k", cwd=tmp_path)
    t.expect(b"assphrase")
    t.type(b"wrong")
    assert t.finish() == 1
    assert b"wrong passphrase" in t.seen and b"Traceback" not in t.seen
