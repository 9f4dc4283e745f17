"""One viewer's sendInteractions flood is cut at the door: past its budget nothing is written."""

from __future__ import annotations

import asyncio
from pathlib import Path

from feedserver import feedback
from feedserver.feedback import REQUEST_LESS, REQUEST_MORE, InteractionBudget, InteractionInput
from feedserver.service import FeedService
from tests.support.seed import insert_posts, make_db, many_posts, server_settings

SEEN = "app.bsky.feed.defs#interactionSeen"


def test_the_budget_grants_its_capacity_then_refills_with_time() -> None:
    budget = InteractionBudget(100, refill_seconds=60.0)
    assert budget.admit("did:plc:a", 70, now=0.0) == 70
    assert budget.admit("did:plc:a", 70, now=0.0) == 30
    assert budget.admit("did:plc:a", 10, now=0.0) == 0
    assert budget.admit("did:plc:b", 100, now=0.0) == 100  # another viewer has its own
    assert budget.admit("did:plc:a", 100, now=30.0) == 50  # half the refill time: half the capacity
    assert budget.admit("did:plc:a", 500, now=10_000.0) == 100  # never more than the capacity


def test_the_budget_remembers_a_bounded_number_of_viewers(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(feedback, "BUDGET_MAX_VIEWERS", 3)
    budget = InteractionBudget(10)
    for i in range(10):
        budget.admit(f"did:plc:{i}", 10, now=0.0)
    assert len(budget._buckets) == 3
    assert budget.admit("did:plc:0", 10, now=0.0) == 10  # forgotten: a full budget again
    assert budget.admit("did:plc:9", 10, now=0.0) == 0  # still remembered: spent


def test_past_the_budget_requests_are_kept_first_and_the_rest_counted(db_path: Path) -> None:
    posts = many_posts(40, authors=4)
    db = make_db(db_path)
    insert_posts(db, posts)
    db.conn.close()
    viewer = "did:plc:viewer0000000000000000"
    service = FeedService(server_settings(db_path, feedback_max_per_viewer=10), clock=lambda: 1000.0)
    try:
        seen = [InteractionInput(item=p.uri, event=SEEN, feed_context=None) for p in posts[:20]]
        less = [InteractionInput(item=p.uri, event=REQUEST_LESS, feed_context=None) for p in posts[20:26]]
        more = [InteractionInput(item=posts[30].uri, event=REQUEST_MORE, feed_context=None)]
        stored = asyncio.run(service.record_interactions(viewer, seen + less + more))
        assert stored == 10
        assert service.feedback.stats["dropped_rate"] == 17
        rows = service._read.execute(
            "SELECT event, count(*) FROM interactions WHERE viewer = ? GROUP BY event", (viewer,)
        ).fetchall()
        assert dict(rows) == {REQUEST_LESS: 6, REQUEST_MORE: 1, SEEN: 3}
        assert asyncio.run(service.record_interactions(viewer, less)) == 0  # spent, clock still
        assert service.feedback.stats["dropped_rate"] == 23
    finally:
        service.close()
