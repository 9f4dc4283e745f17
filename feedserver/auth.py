"""Service-auth JWT verification for requests the Bluesky AppView forwards on a viewer's behalf.

Follows @atproto/xrpc-server's verifier, including its 401 error names, in its order: shape, `typ`,
`exp`, `aud`, `lxm`, `iss`, then the ES256K/ES256 signature against the issuer's atproto key, resolved
through PLC (`FEEDGEN_PLC_URL`) or did:web with a cache and one forced refresh when the signature
fails (the key may have rotated). The atproto SDK's `verify_jwt` checks neither `lxm` nor `typ` and
compares `aud` to one value only, so the claims are checked here and the SDK is used for parsing,
key resolution and signature maths.
"""

from __future__ import annotations

import binascii
import time
from dataclasses import dataclass
from typing import Literal

from atproto_crypto.algs import ALGORITHM_TO_CLASS
from atproto_crypto.did import Multikey, parse_did_key
from atproto_identity.cache.in_memory_cache import AsyncDidInMemoryCache
from atproto_identity.did.resolver import AsyncDidResolver
from atproto_server.auth.jwt import decode_jwt_payload, parse_jwt
from atproto_server.exceptions import TokenDecodeError

AuthMode = Literal["off", "optional", "required"]
FORBIDDEN_TYPES = frozenset({"at+jwt", "refresh+jwt", "dpop+jwt"})
SUPPORTED_ALGS = frozenset({"ES256K", "ES256"})
DEFAULT_LEEWAY_SECONDS = 10.0


class AuthError(Exception):
    """A 401 with the reference server's error name."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


@dataclass
class ServiceAuth:
    """Verifies `Authorization: Bearer <jwt>` for one service DID."""

    service_did: str
    resolver: AsyncDidResolver
    mode: AuthMode = "optional"
    leeway_seconds: float = DEFAULT_LEEWAY_SECONDS

    @classmethod
    def create(cls, service_did: str, plc_url: str, mode: AuthMode, timeout: float = 3.0) -> ServiceAuth:
        cache = AsyncDidInMemoryCache(stale_ttl=3600, max_ttl=86400)
        resolver = AsyncDidResolver(plc_url=plc_url.rstrip("/"), timeout=timeout, cache=cache)
        return cls(service_did=service_did, resolver=resolver, mode=mode)

    async def viewer(self, authorization: str | None, lxm: str) -> str | None:
        """The viewer DID, None for an anonymous request the mode allows; raise AuthError otherwise."""
        if self.mode == "off":
            return None
        if not authorization:
            if self.mode == "required":
                raise AuthError("AuthenticationRequired", "Authentication Required")
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("AuthenticationRequired", "expected an Authorization: Bearer <jwt> header")
        return await self.verify(token.strip(), lxm)

    async def verify(self, token: str, lxm: str, *, now: float | None = None) -> str:
        """Check a service JWT for method `lxm`; return the issuer DID (without fragment)."""
        if token.count(".") != 2:
            raise AuthError("BadJwt", "poorly formatted jwt")
        try:
            raw_payload, signing_input, header, signature = parse_jwt(token)
            payload = decode_jwt_payload(raw_payload)
        except (TokenDecodeError, binascii.Error, ValueError, UnicodeError) as error:
            raise AuthError("BadJwt", "poorly formatted jwt") from error
        typ = header.get("typ")
        if typ is not None and not isinstance(typ, str):
            raise AuthError("BadJwt", "poorly formatted jwt")
        if typ in FORBIDDEN_TYPES:
            raise AuthError("BadJwtType", f'Invalid jwt type "{typ}"')
        if not isinstance(payload.iss, str) or not isinstance(payload.aud, str):
            raise AuthError("BadJwt", "poorly formatted jwt")
        if not isinstance(payload.exp, int):
            raise AuthError("BadJwt", "poorly formatted jwt: exp is required")
        now = time.time() if now is None else now
        if now > payload.exp + self.leeway_seconds:
            raise AuthError("JwtExpired", "jwt expired")
        if payload.aud not in (self.service_did, self.service_did + "#bsky_fg"):
            raise AuthError("BadJwtAudience", "jwt audience does not match service did")
        claimed = getattr(payload, "lxm", None)
        if claimed != lxm:
            raise AuthError(
                "BadJwtLexiconMethod",
                f'bad jwt lexicon method ("lxm"). must match: {lxm}'
                if claimed is not None
                else f'missing jwt lexicon method ("lxm"). must match: {lxm}',
            )
        issuer = payload.iss.split("#", 1)[0]
        if not _is_account_did(issuer):
            raise AuthError("BadJwtIss", "jwt iss is not a valid did")
        alg = header.get("alg")
        if alg not in SUPPORTED_ALGS:
            raise AuthError("BadJwtSignature", f"unsupported jwt alg {str(alg)[:20]!r}")
        key = await self._signing_key(issuer, force_refresh=False)
        if _signature_ok(key, alg, signing_input, signature):
            return issuer
        fresh = await self._signing_key(issuer, force_refresh=True)
        if fresh != key and _signature_ok(fresh, alg, signing_input, signature):
            return issuer
        raise AuthError("BadJwtSignature", "jwt signature does not match jwt issuer")

    async def _signing_key(self, did: str, *, force_refresh: bool) -> str:
        try:
            return await self.resolver.resolve_atproto_key(did, force_refresh)
        except Exception as error:  # resolver raises many types: network, 404, malformed document
            raise AuthError("BadJwtIss", f"could not resolve the signing key of {did}") from error


def _is_account_did(did: str) -> bool:
    method, _, rest = did.partition(":")[2].partition(":")
    return did.startswith("did:") and method in ("plc", "web") and bool(rest) and len(did) <= 2048


def _signature_ok(did_key: str, alg: str, signing_input: bytes, signature: bytes) -> bool:
    try:
        key: Multikey = parse_did_key(did_key)
    except Exception:
        return False
    if key.jwt_alg != alg or len(signature) != 64:
        return False
    try:
        return ALGORITHM_TO_CLASS[alg]().verify_signature(key.key_bytes, signing_input, signature)
    except Exception:
        return False
