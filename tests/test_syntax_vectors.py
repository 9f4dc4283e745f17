"""Our string-format validators agree with every line of the atproto-interop-tests syntax vectors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from firehose.decode import syntax

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "interop-syntax"

CHECKS: dict[str, Callable[[str], bool]] = {
    "atidentifier": syntax.is_at_identifier,
    "aturi": syntax.is_at_uri,
    "cid": syntax.is_cid,
    "datetime": syntax.is_datetime,
    "did": syntax.is_did,
    "handle": syntax.is_handle,
    "language": syntax.is_language,
    "nsid": syntax.is_nsid,
    "recordkey": syntax.is_record_key,
    "tid": syntax.is_tid,
    "uri": syntax.is_uri,
}


def _lines(path: Path) -> list[str]:
    """Vector lines as the interop harness reads them: no blank lines, no '#' comments, whitespace kept."""
    return [
        line for line in path.read_text(encoding="utf-8").split("\n") if line and not line.startswith("#")
    ]


def _files() -> list[Path]:
    return sorted(VECTORS.glob("*.txt")) if VECTORS.is_dir() else []


@pytest.fixture(scope="module", autouse=True)
def _need_vectors() -> None:
    if not VECTORS.is_dir():
        pytest.skip(f"{VECTORS} is absent: the shared corpus lives beside the checkout")


def test_every_vector_file_has_a_validator() -> None:
    kinds = {p.name.split("_", 1)[0] for p in _files()}
    assert kinds == set(CHECKS), kinds ^ set(CHECKS)


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.stem)
def test_vector_file(path: Path) -> None:
    kind, _, rest = path.stem.partition("_")
    want = rest.endswith("_valid")
    check = CHECKS[kind]
    lines = _lines(path)
    assert lines, f"{path.name} has no vectors"
    wrong = [line[:80] for line in lines if check(line) is not want]
    assert not wrong, f"{path.name}: {len(wrong)} of {len(lines)} disagree, e.g. {wrong[:5]}"


@pytest.mark.parametrize(
    ("check", "value", "want"),
    [
        # the three lines where atproto 0.0.73's own formats disagree with the vectors
        (syntax.is_datetime, "0000-01-01T00:00:00.000Z", True),
        (syntax.is_cid, "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR", False),
        (syntax.is_language, "X-fr-CH", True),
        # boundaries we rely on in the decoder
        (syntax.is_datetime, "2024-02-29T12:00:00Z", True),
        (syntax.is_datetime, "2023-02-29T12:00:00Z", False),
        (syntax.is_at_uri, "at://did:plc:abc/app.bsky.feed.post/3k2a", True),
        (syntax.is_at_uri, "at://did:plc:abc/app.bsky.feed.post/3k2a/extra", False),
        (syntax.is_did, "did:plc:" + "a" * 2040, True),
        (syntax.is_did, "did:plc:" + "a" * 2041, False),
    ],
)
def test_known_cases(check: Callable[[str], bool], value: str, want: bool) -> None:
    assert check(value) is want
