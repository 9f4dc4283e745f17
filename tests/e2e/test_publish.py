"""`gitfeed publish` / `unpublish` against the real local PDS, through the CLI as an operator runs it."""

from __future__ import annotations

import json
import socket
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from feedserver.feeds import FEEDS
from gitfeed.cli import main

from .network import Account, LocalNetwork

pytestmark = pytest.mark.e2e

COLLECTION = "app.bsky.feed.generator"


def tiny_png() -> bytes:
    """A real 1x1 PNG (the PDS sniffs uploads)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x33\x99\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@dataclass
class Publisher:
    account: Account
    app_password: str
    env: dict[str, str]

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(main, list(args), env={**self.env, **(env or {})}, input=input)


@pytest.fixture(scope="session")
def feedgen_did(local_network: LocalNetwork) -> str:
    """The feed generator's did:plc (its endpoint need not answer for publishing)."""
    return local_network.register_feedgen_did("http://localhost:3999")


@pytest.fixture
def publisher(
    local_network: LocalNetwork,
    make_account: Callable[[str], Account],
    feedgen_did: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Publisher:
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    alice = make_account("alice")
    app_password = local_network.app_password(alice)
    env = {
        "FEEDGEN_PDS_URL": local_network.pds_url,
        "FEEDGEN_SERVICE_DID": feedgen_did,
        "FEEDGEN_PUBLISHER_DID": alice.did,
        "FEEDGEN_PUBLISH_HANDLE": alice.handle,
        "FEEDGEN_PUBLISH_PASSWORD": app_password,
    }
    return Publisher(alice, app_password, env)


def _record(network: LocalNetwork, did: str, name: str) -> dict:
    response = network.get_record(did, COLLECTION, name)
    assert response.status_code == 200, response.text
    return response.json()


def test_publish_writes_every_feed_with_its_avatar(
    local_network: LocalNetwork, publisher: Publisher, feedgen_did: str, tmp_path: Path
) -> None:
    png = tiny_png()
    (tmp_path / "logo.png").write_bytes(png)
    result = publisher.run("publish", "--avatar", "logo.png", "--json")
    assert result.exit_code == 0, result.output
    did = publisher.account.did
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == list(FEEDS)
    for row in rows:
        name = row["name"]
        assert row["status"] == "created"
        assert row["uri"] == f"at://{did}/{COLLECTION}/{name}"
        assert row["url"] == f"https://bsky.app/profile/{did}/feed/{name}"
        stored = _record(local_network, did, name)
        assert stored["cid"] == row["cid"]
        value = stored["value"]
        assert value["$type"] == COLLECTION
        assert value["did"] == feedgen_did
        assert value["displayName"] == FEEDS[name].display_name
        assert value["description"] == FEEDS[name].description
        assert value["acceptsInteractions"] is True
        assert value["contentMode"] == "app.bsky.feed.defs#contentModeUnspecified"
        assert value["avatar"]["mimeType"] == "image/png" and value["avatar"]["size"] == len(png)
        blob = local_network.get_blob(did, value["avatar"]["ref"]["$link"])
        assert blob.status_code == 200 and blob.content == png
    assert len(local_network.list_records(did, COLLECTION)) == len(FEEDS)

    # The AppView indexes them: that is what lets a subscriber open the feed.
    local_network.process_all()
    view = local_network.wait_for_feed_generator(rows[0]["uri"])["view"]
    assert (view["displayName"], view["did"], view["creator"]["did"]) == (
        FEEDS[rows[0]["name"]].display_name,
        feedgen_did,
        did,
    )
    assert view["avatar"]


def test_publish_again_changes_nothing(
    local_network: LocalNetwork, publisher: Publisher, tmp_path: Path
) -> None:
    (tmp_path / "logo.png").write_bytes(tiny_png())
    first = publisher.run("publish", "--avatar", "logo.png", "--json")
    assert first.exit_code == 0, first.output
    did = publisher.account.did
    before = {name: _record(local_network, did, name) for name in FEEDS}

    again = publisher.run("publish", "--json")  # no --avatar: the one there stays
    assert again.exit_code == 0, again.output
    rows = json.loads(again.stdout)
    assert {row["status"] for row in rows} == {"unchanged"}
    assert {row["name"]: row["cid"] for row in rows} == {name: before[name]["cid"] for name in FEEDS}
    assert {name: _record(local_network, did, name) for name in FEEDS} == before
    assert len(local_network.list_records(did, COLLECTION)) == len(FEEDS)

    with_avatar = publisher.run("publish", "--avatar", "logo.png", "--json")  # same bytes, same blob CID
    assert {row["status"] for row in json.loads(with_avatar.stdout)} == {"unchanged"}


def test_publish_updates_one_feed_and_keeps_its_creation_time(
    local_network: LocalNetwork, publisher: Publisher
) -> None:
    assert publisher.run("publish", "--feed", "github").exit_code == 0
    did = publisher.account.did
    before = _record(local_network, did, "github")
    result = publisher.run("publish", "--feed", "github", "--display-name", "Code on GitHub 👩‍💻")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split()[:2] == ["github", "updated"]
    assert f"https://bsky.app/profile/{did}/feed/github" in result.output
    after = _record(local_network, did, "github")
    assert after["value"]["displayName"] == "Code on GitHub 👩‍💻"
    assert after["value"]["createdAt"] == before["value"]["createdAt"]
    assert after["cid"] != before["cid"]
    assert [r["uri"].rsplit("/", 1)[1] for r in local_network.list_records(did, COLLECTION)] == ["github"]


def test_publish_leaves_another_services_record_alone_unless_forced(
    local_network: LocalNetwork, publisher: Publisher, feedgen_did: str
) -> None:
    """Someone's `all` feed, pointing at their own generator, is not silently replaced by ours."""
    did = publisher.account.did
    other_service = "did:web:someone-else.example"
    theirs = publisher.run("publish", "--feed", "all", env={"FEEDGEN_SERVICE_DID": other_service})
    assert theirs.exit_code == 0, theirs.output
    before = _record(local_network, did, "all")

    refused = publisher.run("publish")  # every feed, ours: all would replace theirs
    assert refused.exit_code == 1
    assert refused.output.splitlines() == [
        f"Error: not replacing at://{did}/{COLLECTION}/all points at '{other_service}', not {feedgen_did}: "
        "pass --force to replace, or publish under another --feed name"
    ]
    assert _record(local_network, did, "all") == before
    assert [r["uri"].rsplit("/", 1)[1] for r in local_network.list_records(did, COLLECTION)] == ["all"]

    forced = publisher.run("publish", "--feed", "all", "--force")
    assert forced.exit_code == 0, forced.output
    assert forced.output.splitlines()[0].split()[:2] == ["all", "updated"]
    assert _record(local_network, did, "all")["value"]["did"] == feedgen_did


def test_unpublish_deletes_one_feed_after_confirmation(
    local_network: LocalNetwork, publisher: Publisher
) -> None:
    assert publisher.run("publish").exit_code == 0
    did = publisher.account.did

    declined = publisher.run("unpublish", "github", input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
    assert local_network.get_record(did, COLLECTION, "github").status_code == 200

    confirmed = publisher.run("unpublish", "github", input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert confirmed.output.splitlines()[-1] == f"deleted at://{did}/{COLLECTION}/github"
    gone = local_network.get_record(did, COLLECTION, "github")
    assert gone.status_code == 400 and gone.json()["error"] == "RecordNotFound"
    remaining = sorted(r["uri"].rsplit("/", 1)[1] for r in local_network.list_records(did, COLLECTION))
    assert remaining == sorted(set(FEEDS) - {"github"})

    again = publisher.run("unpublish", "github", "--yes")
    assert again.exit_code == 0
    assert again.output.strip() == f"github was not published in {did}'s repository: nothing to delete"


def test_bad_credentials_are_one_line_without_the_password(
    local_network: LocalNetwork, publisher: Publisher
) -> None:
    result = publisher.run("publish", env={"FEEDGEN_PUBLISH_PASSWORD": "wrong-password-123"})
    assert result.exit_code == 1
    assert result.output == (
        f"Error: the PDS at {local_network.pds_url} refused the handle and app password (bad credentials)\n"
    )
    assert local_network.list_records(publisher.account.did, COLLECTION) == []


def test_password_prompt_when_not_in_the_environment(
    local_network: LocalNetwork, publisher: Publisher
) -> None:
    result = publisher.run(
        "publish", "--feed", "ml", env={"FEEDGEN_PUBLISH_PASSWORD": ""}, input=publisher.app_password + "\n"
    )
    assert result.exit_code == 0, result.output
    assert f"App password for {publisher.account.handle}" in result.output
    assert publisher.app_password not in result.output
    assert local_network.get_record(publisher.account.did, COLLECTION, "ml").status_code == 200


class ConnectionRecorder:
    """A listening socket that counts the connections made to it and hangs up on each."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def recorder() -> Iterator[ConnectionRecorder]:
    rec = ConnectionRecorder()
    yield rec
    rec.close()


def test_too_long_display_name_is_refused_before_any_request(
    publisher: Publisher, recorder: ConnectionRecorder
) -> None:
    name = "🚀" + "x" * 24  # 25 graphemes
    result = publisher.run("publish", "--feed", "github", "--display-name", name, "--pds", recorder.url)
    assert result.exit_code == 1
    assert result.output == "Error: feed github: display name is 25 graphemes; the limit is 24\n"
    assert recorder.connections == 0

    # The same command with a 24-grapheme name does connect: the recorder can see a request.
    result = publisher.run("publish", "--feed", "github", "--display-name", name[:-1], "--pds", recorder.url)
    assert result.exit_code == 1
    assert result.output == f"Error: cannot reach the PDS at {recorder.url} (login)\n"
    assert recorder.connections >= 1
