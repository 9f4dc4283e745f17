"""The label queue on /admin over HTTP: the real app on a real SQLite file, the admin token, the buttons."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from feedserver.app import create_app
from firehose.store import labels
from firehose.store.schema import open_db
from tests.support.seed import make_db, server_settings

TOKEN = "test-admin-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
URI = "at://did:plc:alice/app.bsky.feed.post/3kq"


def client(db_path: Path) -> TestClient:
    db = make_db(db_path)
    post = labels.QueuedPost(URI, {"text": "<script>x</script> fine-tuning tips"}, "uncertain", {"ml": 0.42})
    other = labels.QueuedPost(URI + "2", {"text": "second"}, "show_less", {"ml": 0.9})
    with db.atomic():
        labels.enqueue(db.conn, [post, other], 100, now=1.0)
    db.close()
    return TestClient(create_app(server_settings(db_path, admin_token=TOKEN)))


def test_admin_shows_the_queue_escaped_and_labels_with_a_button(db_path: Path) -> None:
    with client(db_path) as http:
        page = http.get("/admin", headers=BEARER)
        assert page.status_code == 200
        assert "Label queue" in page.text and "&lt;script&gt;x&lt;/script&gt; fine-tuning tips" in page.text
        assert "<script>x</script>" not in page.text and "show less 1" in page.text
        done = http.post(
            "/admin/label", data={"uri": URI, "labels": "ml"}, headers=BEARER, follow_redirects=False
        )
        assert done.status_code == 303 and "labeled" in done.headers["location"]
        dropped = http.post("/admin/label", data={"uri": URI + "2", "labels": "drop"}, headers=BEARER)
        assert dropped.status_code == 200 and "The label queue is empty." in dropped.text
        bad = http.post("/admin/label", data={"uri": URI, "labels": "cats"}, headers=BEARER)
        assert bad.status_code == 400 and "unknown label(s) cats" in bad.text
    conn = open_db(db_path).conn
    assert [(x.uri, set(x.labels)) for x in labels.all_labels(conn)] == [(URI, {"ml"})]
    assert labels.queue(conn) == []


def test_labeling_needs_the_admin_token_and_this_sites_origin(db_path: Path) -> None:
    with client(db_path) as http:
        refused = http.post("/admin/label", data={"uri": URI, "labels": "ml"})
        assert refused.status_code == 403  # no Origin: not known to come from this site's pages
        forged = http.post(
            "/admin/label", data={"uri": URI, "labels": "ml"}, headers={"Origin": "https://attacker.example"}
        )
        assert forged.status_code == 403
        anonymous = http.post(
            "/admin/label", data={"uri": URI, "labels": "ml"}, headers={"Origin": "http://testserver"}
        )
        assert anonymous.status_code == 401
        wrong = http.post(
            "/admin/label",
            data={"uri": URI, "labels": "ml"},
            headers={"Authorization": "Bearer no", "Origin": "http://testserver"},
        )
        assert wrong.status_code == 401
    conn = open_db(db_path).conn
    assert labels.all_labels(conn) == [] and len(labels.queue(conn)) == 2
