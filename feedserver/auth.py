"""Service-auth JWT verification for requests the Bluesky AppView forwards on a viewer's behalf.

Follows @atproto/xrpc-server's verifier, including its 401 error names, in its order: shape, `typ`,
`exp`, `aud`, `lxm`, `iss`, then the ES256K/ES256 signature against the issuer's atproto key. Nothing
is fetched until every claim has passed and `iss` is a did:plc or did:web we resolve; the key then
comes through `feedserver.identity` (PLC at `FEEDGEN_PLC_URL` or did:web, bounded in size and time,
an LRU cache that remembers failures, one forced refresh per DID per interval when the signature
fails because the key may have rotated). The atproto SDK's `verify_jwt` checks neither `lxm` nor `typ`
and compares `aud` to one value only, so the claims are checked here and the SDK is used for parsing
and signature maths.
"""

from __future__ import annotations

import binascii
import time
from dataclasses import dataclass
from typing import Literal

from atproto_crypto.algs import ALGORITHM_TO_CLASS
from atproto_crypto.did import Multikey, parse_did_key
from atproto_server.auth.jwt import decode_jwt_payload, parse_jwt
from atproto_server.exceptions import TokenDecodeError

from feedserver.identity import DidFetcher, KeyCache, ResolveError, resolvable_did
from firehose.settings import Settings

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
    fetcher: DidFetcher
    keys: KeyCache
    mode: AuthMode = "optional"
    leeway_seconds: float = DEFAULT_LEEWAY_SECONDS

    @classmethod
    def create(cls, settings: Settings) -> ServiceAuth:
        fetcher = DidFetcher(
            settings.plc_url,
            timeout_seconds=settings.did_timeout_seconds,
            max_bytes=settings.did_max_bytes,
            allow_localhost_web=settings.did_web_localhost,
        )
        keys = KeyCache(
            fetcher.atproto_key,
            max_entries=settings.did_cache_size,
            ttl_seconds=settings.did_cache_ttl_seconds,
            failure_ttl_seconds=settings.did_failure_ttl_seconds,
            refresh_interval_seconds=settings.did_refresh_interval_seconds,
        )
        return cls(service_did=settings.service_did, fetcher=fetcher, keys=keys, mode=settings.auth_mode)

    async def aclose(self) -> None:
        await self.fetcher.aclose()

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
        if not resolvable_did(issuer, allow_localhost=self.fetcher.allow_localhost_web):
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
            return await self.keys.key(did, force_refresh=force_refresh)
        except ResolveError as error:
            raise AuthError("BadJwtIss", str(error)) from error


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
