"""GitHub link detection: a table of posts and the links and repositories each must yield."""

import pytest

from firehose.detect import canonical_repo, embed_text, github_links

LINK = "app.bsky.richtext.facet#link"


def facet(uri: str) -> dict:
    return {"index": {"byteStart": 0, "byteEnd": 1}, "features": [{"$type": LINK, "uri": uri}]}


def external(uri: str, title: str = "", description: str = "") -> dict:
    return {
        "$type": "app.bsky.embed.external",
        "external": {"uri": uri, "title": title, "description": description},
    }


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"text": "no links here"}, []),
        (
            {"text": "github.com/psf/bla...", "facets": [facet("https://github.com/psf/black")]},
            [("https://github.com/psf/black", "psf/black")],
        ),
        (
            {"text": "see", "embed": external("https://github.com/Astral-Sh/Ruff/")},
            [("https://github.com/Astral-Sh/Ruff/", "astral-sh/ruff")],
        ),
        (
            {
                "text": "quote",
                "embed": {
                    "$type": "app.bsky.embed.recordWithMedia",
                    "media": external("https://gist.github.com/u/1"),
                },
            },
            [("https://gist.github.com/u/1", None)],
        ),
        (
            {"text": "plain https://github.com/pallets/flask/issues/42."},
            [("https://github.com/pallets/flask/issues/42", "pallets/flask")],
        ),
        ({"text": "shortened github.com/org/re..."}, [("https://github.com/org/re", None)]),
        (
            {"text": "shortened github.com/org/repo/tree/m…"},
            [("https://github.com/org/repo/tree/m", "org/repo")],
        ),
        ({"text": "docs at simonw.github.io/proj"}, [("https://simonw.github.io/proj", "simonw/proj")]),
        ({"text": "gitlab.com/a/b and codeberg.org/c/d and notgithub.com/e/f"}, []),
        ({"text": "github.com/orgs/python is not a repo"}, [("https://github.com/orgs/python", None)]),
        ({"text": "x", "facets": [facet("https://gitlab.com/a/b")]}, []),
    ],
)
def test_github_links(record: dict, expected: list) -> None:
    assert [(link.url, link.repo) for link in github_links(record)] == expected


@pytest.mark.parametrize(
    ("url", "repo"),
    [
        ("https://github.com/a/b.git", "a/b"),
        ("https://raw.githubusercontent.com/a/b/main/x.py", "a/b"),
        ("https://github.com/features/actions", None),
        ("https://github.com/a", None),
        ("https://example.com/a/b", None),
        ("https://a.github.io", "a/a.github.io"),
    ],
)
def test_canonical_repo(url: str, repo: str | None) -> None:
    assert canonical_repo(url) == repo


def test_embed_text_joins_text_and_card() -> None:
    record = {"text": "new release", "embed": external("https://github.com/a/b", "a/b: fast", "A fast thing")}
    assert embed_text(record) == "new release\na/b: fast\nA fast thing"
    assert embed_text({"text": "", "embed": external("https://x.y", "Title")}) == "Title"
