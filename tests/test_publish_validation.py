"""The generator records gitfeed publishes, checked offline: lexicon limits, avatar sniffing, record shape."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from feedserver import publish as pub
from feedserver.feeds import FEEDS
from firehose.settings import load_settings
from gitfeed.cli import main

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one grapheme, five code points
FLAG = "\U0001f1ef\U0001f1f5"  # regional indicators J + P: one grapheme
E_ACUTE = "e\u0301"  # e + combining acute accent: one grapheme


@pytest.mark.parametrize(
    ("text", "graphemes"),
    [
        ("", 0),
        ("GitHub", 6),
        (FAMILY, 1),
        (FLAG * 3, 3),
        (E_ACUTE * 4, 4),
        ("日本語のフィード", 8),
        ("a\r\nb", 3),  # CR LF is a single grapheme
    ],
)
def test_grapheme_count(text: str, graphemes: int) -> None:
    assert pub.grapheme_count(text) == graphemes


@pytest.mark.parametrize(
    ("display_name", "ok"),
    [
        ("x" * 24, True),
        ("x" * 25, False),
        (FAMILY * 13, True),  # 65 code points, 234 bytes, 13 graphemes
        (FLAG * 24, True),  # 48 code points, 192 bytes, 24 graphemes
        (FLAG * 25, False),
        (E_ACUTE * 24, True),
        (E_ACUTE * 25, False),
        ("   ", False),
        ("", False),
    ],
    ids=[
        "24-ascii",
        "25-ascii",
        "13-families",
        "24-flags",
        "25-flags",
        "24-combining",
        "25-combining",
        "blank",
        "empty",
    ],
)
def test_display_name_limit_counts_graphemes(display_name: str, ok: bool) -> None:
    spec = pub.FeedSpec(name="github", display_name=display_name)
    if ok:
        pub.validate_spec(spec)
    else:
        with pytest.raises(pub.RecordValidationError, match="display name"):
            pub.validate_spec(spec)


def test_display_name_byte_limit_also_applies() -> None:
    # 14 graphemes, but 252 bytes: over the lexicon's 240-byte maxLength.
    with pytest.raises(
        pub.RecordValidationError, match="display name is 252 bytes of UTF-8; the limit is 240"
    ):
        pub.validate_spec(pub.FeedSpec(name="github", display_name=FAMILY * 14))


@pytest.mark.parametrize(
    ("description", "error"),
    [
        ("d" * 300, None),
        (FLAG * 300, None),  # 2400 bytes
        ("d" * 301, "description is 301 graphemes; the limit is 300"),
        (FAMILY * 200, "description is 3600 bytes of UTF-8; the limit is 3000"),
    ],
    ids=["300-ascii", "300-flags", "301-ascii", "200-families"],
)
def test_description_limit(description: str, error: str | None) -> None:
    spec = pub.FeedSpec(name="github", display_name="GitHub", description=description)
    if error is None:
        pub.validate_spec(spec)
    else:
        with pytest.raises(pub.RecordValidationError, match=error):
            pub.validate_spec(spec)


@pytest.mark.parametrize(
    "name", ["github", "ml", "a.b-c_d:e~f", "x" * 512], ids=["github", "ml", "punct", "512"]
)
def test_valid_record_keys(name: str) -> None:
    assert pub.check_record_key(name) == name


@pytest.mark.parametrize(
    "name",
    ["", ".", "..", "has space", "slash/name", "x" * 513, "émoji"],
    ids=["empty", "dot", "dotdot", "space", "slash", "513", "non-ascii"],
)
def test_invalid_record_keys(name: str) -> None:
    with pytest.raises(pub.RecordValidationError, match="not a valid record key"):
        pub.check_record_key(name)


@pytest.mark.parametrize(("data", "mime"), [(PNG, "image/png"), (JPEG, "image/jpeg")], ids=["png", "jpeg"])
def test_avatar_sniffed_by_magic_bytes(tmp_path: Path, data: bytes, mime: str) -> None:
    path = tmp_path / "avatar.bin"  # the extension says nothing
    path.write_bytes(data)
    assert pub.load_avatar(path) == pub.Avatar(data=data, mime_type=mime)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a" + b"\x00" * 10, "not a PNG or JPEG"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a PNG or JPEG"),
        (b"", "not a PNG or JPEG"),
        (PNG + b"\x00" * (pub.MAX_AVATAR_BYTES - len(PNG) + 1), "1000001 bytes; the limit is 1000000"),
    ],
    ids=["gif", "svg", "empty", "png-too-big"],
)
def test_avatar_refused(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "avatar.png"
    path.write_bytes(data)
    with pytest.raises(pub.RecordValidationError, match=message):
        pub.load_avatar(path)


def test_avatar_at_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(JPEG + b"\x00" * (pub.MAX_AVATAR_BYTES - len(JPEG)))
    assert pub.load_avatar(path).mime_type == "image/jpeg"


def test_missing_avatar_file(tmp_path: Path) -> None:
    with pytest.raises(pub.RecordValidationError, match="cannot read avatar"):
        pub.load_avatar(tmp_path / "nope.png")


def test_build_specs_defaults_to_every_feed_with_registry_texts() -> None:
    specs = pub.build_specs()
    assert [spec.name for spec in specs] == list(FEEDS)
    for spec in specs:
        assert spec.display_name == FEEDS[spec.name].display_name
        assert spec.description == FEEDS[spec.name].description
        assert spec.accepts_interactions is True


def test_build_specs_overrides_one_feed() -> None:
    [spec] = pub.build_specs(["ml"], display_name="ML papers", description="", accepts_interactions=False)
    assert spec == pub.FeedSpec(
        name="ml", display_name="ML papers", description="", accepts_interactions=False
    )


def test_build_specs_refuses_unknown_feed_and_ambiguous_overrides() -> None:
    with pytest.raises(pub.RecordValidationError, match="unknown feed nope; known feeds: github"):
        pub.build_specs(["github", "nope"])
    with pytest.raises(pub.RecordValidationError, match="apply to one feed"):
        pub.build_specs(["github", "ml"], display_name="Both")
    with pytest.raises(pub.RecordValidationError, match="apply to one feed"):
        pub.build_specs(None, description="All of them")


def test_build_record_shape() -> None:
    spec = pub.FeedSpec(name="github", display_name="GitHub", description="Code", accepts_interactions=True)
    blob = {"$type": "blob", "ref": {"$link": "bafkrei..."}, "mimeType": "image/png", "size": 40}
    record = pub.build_record(spec, "did:web:feed.example.org", "2026-01-02T03:04:05.678Z", blob)
    assert record == {
        "$type": "app.bsky.feed.generator",
        "did": "did:web:feed.example.org",
        "displayName": "GitHub",
        "description": "Code",
        "avatar": blob,
        "acceptsInteractions": True,
        "contentMode": "app.bsky.feed.defs#contentModeUnspecified",
        "createdAt": "2026-01-02T03:04:05.678Z",
    }
    bare = pub.build_record(
        pub.FeedSpec(name="ml", display_name="ML"), "did:plc:abc", "2026-01-02T03:04:05.678Z"
    )
    assert "description" not in bare and "avatar" not in bare


def test_now_iso_is_a_lexicon_datetime() -> None:
    import re

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", pub.now_iso())


def test_bsky_app_link() -> None:
    assert pub.bsky_app_link("did:plc:abc", "github") == "https://bsky.app/profile/did:plc:abc/feed/github"


def test_service_did_refuses_the_placeholder_host() -> None:
    with pytest.raises(pub.RecordValidationError, match="FEEDGEN_HOSTNAME"):
        pub.service_did_for(load_settings(hostname="example.com", service_did=""))
    assert pub.service_did_for(load_settings(hostname="feed.example.org")) == "did:web:feed.example.org"
    assert pub.service_did_for(load_settings(service_did="did:plc:abc")) == "did:plc:abc"
    with pytest.raises(pub.RecordValidationError, match="not a DID"):
        pub.service_did_for(load_settings(service_did="feed.example.org"))


OURS = "did:web:feed.example.org"
ME = "did:plc:publisher0000000000000000"


@pytest.mark.parametrize(
    ("existing", "force", "refused"),
    [
        ({"github": None, "ml": None}, False, []),  # nothing there yet
        ({"github": {"did": OURS}, "ml": None}, False, []),  # ours: an update
        ({"all": {"did": "did:web:someone-else.example"}, "github": None}, False, ["all"]),
        ({"all": {"did": "did:web:a.example"}, "links": {"did": "did:plc:other"}}, False, ["all", "links"]),
        ({"links": {"displayName": "no did at all"}}, False, ["links"]),
        ({"all": {"did": "did:web:someone-else.example"}}, True, []),  # --force
    ],
    ids=["new", "ours", "foreign", "two-foreign", "no-did", "forced"],
)
def test_publish_refuses_to_replace_another_services_record(
    existing: dict, force: bool, refused: list[str]
) -> None:
    if not refused:
        pub.check_replaceable(ME, existing, OURS, force)
        return
    with pytest.raises(pub.ForeignRecordError) as error:
        pub.check_replaceable(ME, existing, OURS, force)
    message = str(error.value)
    assert "\n" not in message and "--force" in message
    for name in refused:
        assert f"at://{ME}/app.bsky.feed.generator/{name} points at" in message
    assert all(f"/{name} " not in message for name in existing if name not in refused)


# ---- the CLI refuses before it asks for anything or connects anywhere ---------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    return {
        "FEEDGEN_HOSTNAME": "feed.example.org",
        "FEEDGEN_PDS_URL": "http://127.0.0.1:9",  # discard port: nothing answers there
        "FEEDGEN_PUBLISH_HANDLE": "",
        "FEEDGEN_PUBLISH_PASSWORD": "",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--feed", "github", "--display-name", "x" * 25], "display name is 25 graphemes; the limit is 24"),
        (["--feed", "github", "--description", "d" * 301], "description is 301 graphemes; the limit is 300"),
        (["--feed", "nope"], "unknown feed nope"),
        (["--display-name", "Two feeds"], "apply to one feed"),
    ],
)
def test_cli_publish_refuses_offline(env: dict[str, str], args: list[str], message: str) -> None:
    # No input is given: a prompt for the handle would fail differently, so this proves the
    # refusal happens before credentials are asked for (and before any connection).
    result = CliRunner().invoke(main, ["publish", *args], env=env)
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {message}" or message in result.output.strip().splitlines()[-1]
    assert "Handle" not in result.output
    assert "Traceback" not in result.output


def test_cli_publish_refuses_bad_avatar(env: dict[str, str], tmp_path: Path) -> None:
    gif = tmp_path / "logo.png"
    gif.write_bytes(b"GIF89a" + b"\x00" * 10)
    result = CliRunner().invoke(main, ["publish", "--avatar", str(gif)], env=env)
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: avatar {gif} is not a PNG or JPEG image"


def test_cli_publish_unreachable_pds_is_one_line(env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        main, ["publish", "--feed", "github", "--handle", "alice.test"], env=env, input="app-pass\n"
    )
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "Error: cannot reach the PDS at http://127.0.0.1:9 (login)"
    assert "app-pass" not in result.output.replace("App password", "")


def test_cli_unpublish_asks_and_aborts(env: dict[str, str]) -> None:
    env = {**env, "FEEDGEN_PUBLISH_HANDLE": "alice.test", "FEEDGEN_PUBLISH_PASSWORD": "secret"}
    result = CliRunner().invoke(main, ["unpublish", "github"], env=env, input="n\n")
    assert result.exit_code == 1
    assert "Delete feed 'github' from alice.test's repository at http://127.0.0.1:9?" in result.output
    assert "Aborted!" in result.output


def test_cli_unpublish_refuses_bad_name(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["unpublish", "bad name", "--yes"], env=env)
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == "Error: feed name 'bad name' is not a valid record key ([A-Za-z0-9._:~-], 1-512)"
    )
