"""Only a neighbour that proves its node id can win the site election, and an elected box that
delivers nothing loses it (issue 16 item 4).

A static neighbour whose /info claims node id 000…0 (the smallest possible, so it would win)
and a real swarm port, but which holds no key of that id, must not keep the real box off the
WAN. Real daemons, a real HTTP impostor, real challenges.
"""

from __future__ import annotations

import http.server
import json
import secrets
import threading
from collections.abc import Iterator

import pytest
from agentworld import Fleet, World, wan_after_settling

from keys import SigningKey
from p2pdist.feeds import IdentityProofError, answer_challenge, new_nonce, verify_proof
from tests.world import free_port

ZERO = "0" * 64


def test_proof_verifies_only_for_the_key_of_the_id() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    nonce = new_nonce()
    verify_proof(key.keyid, nonce, answer_challenge(key, nonce), "n")
    with pytest.raises(IdentityProofError, match="claims node id"):
        verify_proof(ZERO, nonce, answer_challenge(key, nonce), "n")
    with pytest.raises(IdentityProofError, match="does not verify"):
        verify_proof(key.keyid, new_nonce(), answer_challenge(key, nonce), "n")  # replayed
    forged = {**answer_challenge(other, nonce), "public_key": key.public.raw.hex()}
    with pytest.raises(IdentityProofError, match="does not verify"):
        verify_proof(key.keyid, nonce, forged, "n")
    for bad in ({}, {"public_key": "zz", "signature": "00"}, {"public_key": 1, "signature": 2}):
        with pytest.raises(IdentityProofError, match="malformed"):
            verify_proof(key.keyid, nonce, bad, "n")


def _serve_feed(node_id: str, key: SigningKey) -> tuple[http.server.ThreadingHTTPServer, str]:
    """A feed that claims `node_id` with a swarm port where nothing listens (it delivers no
    byte); /prove answers with `key`."""
    info = json.dumps({"api": 1, "node_id": node_id, "role": "box", "channels": {},
                       "swarm_port": free_port("127.0.0.1"), "root_version": 1}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/p2pdist/v1/info":
                body = info
            elif self.path.startswith("/p2pdist/v1/prove?nonce="):
                nonce = bytes.fromhex(self.path.split("=", 1)[1])
                body = json.dumps(answer_challenge(key, nonce)).encode()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def impostor() -> Iterator[str]:
    """A feed that claims node id 000…0 but holds another key."""
    server, url = _serve_feed(ZERO, SigningKey.generate())
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture
def quiet_winner() -> Iterator[tuple[str, str]]:
    """An honest-looking neighbour: it proves a node id starting 000 (so it wins the election
    against any real box, bar 1 in 4,096) and never sends a byte. (url, node id)"""
    key = next(k for k in iter(SigningKey.generate, None) if k.keyid.startswith("000"))
    server, url = _serve_feed(key.keyid, key)
    yield url, key.keyid
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_a_neighbour_claiming_node_id_zero_does_not_win(agent_world: World, fleet: Fleet,
                                                        impostor: str) -> None:
    w = agent_world
    site = f"proof-{secrets.token_hex(4)}"
    _up, up_feed = fleet.upstream(w, "127.0.0.52")
    s = fleet.box("s")
    s.init(w, "--no-mdns", "--site", site, "--lan", "127.0.0.1/32", "--neighbour", impostor,
           "--seeder", up_feed)
    s.start()
    st = s.wait(lambda st: s.channel(st)["phase"] in ("downloading", "seeding")
                and st["election_settled"], 30, "the download after the election")
    st = wan_after_settling(s, st)
    assert st["elected"] == s.node_id, st["elected"]
    assert s.channel(st)["wan"]
    s.wait_active(1, 30)


@pytest.mark.slow
def test_an_elected_box_that_delivers_nothing_loses_the_election(
        agent_world: World, fleet: Fleet, quiet_winner: tuple[str, str]) -> None:
    w = agent_world
    url, quiet_id = quiet_winner
    site = f"quiet-{secrets.token_hex(4)}"
    _up, up_feed = fleet.upstream(w, "127.0.0.53")
    s = fleet.box("s")
    s.init(w, "--no-mdns", "--site", site, "--lan", "127.0.0.1/32", "--neighbour", url,
           "--seeder", up_feed)
    toml = s.data / "box.toml"  # a short stall period, so the test stays fast
    toml.write_text(toml.read_text().replace("stall_s = 60.0", "stall_s = 3.0"))
    s.start()
    assert s.node_id > quiet_id
    # It proved its id, so it wins first and this box waits on the LAN (no WAN)...
    st = s.wait(lambda st: st["elected"] == quiet_id and st["election_settled"]
                and s.channel(st)["phase"] == "downloading", 30, "the quiet box elected")
    assert not s.channel(st)["wan"]
    # ...until one stall period without data: then it is passed over and this box takes the WAN.
    st = s.wait(lambda st: st["elected"] == s.node_id, 20, "the quiet box demoted")
    assert st["demoted"] == [quiet_id]
    st = wan_after_settling(s, st)
    assert s.channel(st)["wan"]
    s.wait_active(1, 30)
    assert s.child is not None and s.child.tracebacks == 0


def test_a_demoted_box_is_passed_over_until_its_demotion_ends() -> None:
    from p2pdist.agent._policy import Demotions, LanPeer, elected_box

    site = [LanPeer(i, "s", "10.0.0.1", 1, 2, {}) for i in ("a1", "b2")]
    proven = {"a1", "b2"}
    d = Demotions()
    assert elected_box("c3", "s", site, proven, d.active(0)) == "a1"
    d.demote("a1", 600, now=10)
    assert elected_box("c3", "s", site, proven, d.active(11)) == "b2"
    d.demote("b2", 600, now=20)
    assert elected_box("c3", "s", site, proven, d.active(21)) == "c3"  # this box, last
    assert elected_box("c3", "s", site, proven, d.active(610)) == "a1"  # a1's demotion ended
    assert d.active(620) == set()
