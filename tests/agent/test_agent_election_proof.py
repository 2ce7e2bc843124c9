"""Only a neighbour that proves its node id can win the site election (issue 16 item 4).

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


@pytest.fixture
def impostor() -> Iterator[str]:
    """A feed that claims node id 000…0 with a swarm port; /prove answers with its own key."""
    key = SigningKey.generate()
    info = json.dumps({"api": 1, "node_id": ZERO, "role": "box", "channels": {},
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
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_a_neighbour_claiming_node_id_zero_does_not_win(agent_world: World, fleet: Fleet,
                                                        impostor: str) -> None:
    w = agent_world
    site = f"proof-{secrets.token_hex(4)}"
    ip = "127.0.0.52"
    up = fleet.box("upstream")
    up.init(w, "--no-mdns", "--site-mode", "own-link", listen=f"{ip}:0", feed=f"{ip}:0")
    w.publish(1, up.data)
    up.start()
    s = fleet.box("s")
    s.init(w, "--no-mdns", "--site", site, "--lan", "127.0.0.1/32", "--neighbour", impostor,
           "--seeder", f"http://{ip}:{up.ready['feed_port']}")
    s.start()
    st = s.wait(lambda st: s.channel(st)["phase"] in ("downloading", "seeding")
                and st["election_settled"], 30, "the download after the election")
    st = wan_after_settling(s, st)
    assert st["elected"] == s.node_id, st["elected"]
    assert s.channel(st)["wan"]
    s.wait_active(1, 30)
