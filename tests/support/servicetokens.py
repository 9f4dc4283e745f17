"""Service-auth test parts: atproto signing keys, service JWTs as the PDS mints them, a PLC directory.

A real local PLC-like directory over HTTP on 127.0.0.1 (`GET /<did>` answers that DID's document), and
keys that sign the way @atproto/crypto does, so the tests exercise the real verifier end to end.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from atproto_crypto.did import format_multikey
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.support.seed import HOSTNAME

SERVICE_DID = f"did:web:{HOSTNAME}"
LXM = "app.bsky.feed.getFeedSkeleton"
VIEWER = "did:plc:viewerviewerviewerviewer"  # did:plc: and 24 base32 characters
CURVES = {
    "ES256K": (ec.SECP256K1(), 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141),
    "ES256": (ec.SECP256R1(), 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551),
}


class Keypair:
    """An atproto signing key: raw 64-byte low-S signatures, as @atproto/crypto makes them."""

    def __init__(self, alg: str) -> None:
        self.alg = alg
        curve, self.order = CURVES[alg]
        self.private = ec.generate_private_key(curve)

    def multikey(self) -> str:
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return format_multikey(self.alg, raw)

    def sign(self, data: bytes) -> bytes:
        r, s = decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
        s = min(s, self.order - s)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(key: Keypair, header: dict | None = None, **claims: object) -> str:
    """A service JWT the way the PDS mints one for the AppView (com.atproto.server.getServiceAuth)."""
    now = int(time.time())
    payload = {"iat": now, "iss": VIEWER, "aud": SERVICE_DID, "exp": now + 60, "lxm": LXM, "jti": "abc123"}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    head = {"typ": "JWT", "alg": key.alg} | (header or {})
    signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(payload).encode())}".encode()
    return f"{signing_input.decode()}.{b64(key.sign(signing_input))}"


class Directory:
    """A tiny PLC directory on 127.0.0.1: GET /<did> answers that DID's document."""

    def __init__(self) -> None:
        self.keys: dict[str, Keypair] = {}
        self.requests: list[str] = []
        directory = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                did = self.path.lstrip("/")
                directory.requests.append(did)
                key = directory.keys.get(did)
                if key is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps(directory.document(did, key)).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def document(did: str, key: Keypair) -> dict:
        return {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": did,
            "alsoKnownAs": ["at://viewer.test"],
            "verificationMethod": [
                {
                    "id": f"{did}#atproto",
                    "type": "Multikey",
                    "controller": did,
                    "publicKeyMultibase": key.multikey(),
                }
            ],
            "service": [
                {
                    "id": "#atproto_pds",
                    "type": "AtprotoPersonalDataServer",
                    "serviceEndpoint": "https://pds.test",
                }
            ],
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
