"""Benchmark the signature check of service auth: verifies per CPU-second, ES256K and ES256.

Each authenticated getFeedSkeleton verifies one JWT signature (`feedserver.auth`, through the atproto
SDK's `ALGORITHM_TO_CLASS[alg]().verify_signature`, which parses the public key on every call). This
measures that call alone on one core, and beside it `cryptography`'s verify with the key object kept,
so docs/scaling.md can size the serving tier with authentication on.

Example: python -m scripts.bench_auth --n 3000
"""

from __future__ import annotations

import argparse
import time

from atproto_crypto.algs import ALGORITHM_TO_CLASS
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

CURVES = {
    "ES256K": (ec.SECP256K1(), 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141),
    "ES256": (ec.SECP256R1(), 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551),
}


def per_cpu_second(call: object, n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        call()  # type: ignore[operator]
    return n / (time.process_time() - start)


def measure(alg: str, n: int) -> dict[str, float]:
    curve, order = CURVES[alg]
    key = ec.generate_private_key(curve)
    public = key.public_key()
    compressed = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    message = b"eyJhbGciOiJFUzI1NksifQ.eyJpc3MiOiJkaWQ6cGxjOngiLCJhdWQiOiJkaWQ6d2ViOngifQ"
    der = key.sign(message, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    s = min(s, order - s)  # atproto signatures are low-S
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    verifier = ALGORITHM_TO_CLASS[alg]()
    assert verifier.verify_signature(compressed, message, raw)
    return {
        "sdk": per_cpu_second(lambda: verifier.verify_signature(compressed, message, raw), n),
        "key_kept": per_cpu_second(lambda: public.verify(der, message, ec.ECDSA(hashes.SHA256())), n),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="verifies per measurement")
    args = parser.parse_args(argv)
    for alg in CURVES:
        result = measure(alg, args.n)
        print(
            f"{alg:>6}: {result['sdk']:7,.0f} verifies per CPU-second as gitfeed verifies (the SDK), "
            f"{result['key_kept']:7,.0f} with the key object kept"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
