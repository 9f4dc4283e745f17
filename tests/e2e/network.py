"""The local Bluesky network for end-to-end tests: PostgreSQL + network.mjs, and helpers that act as users.

`LocalNetwork` starts a private PostgreSQL cluster (unless given one), then `node network.mjs`, reads
its ready line and exposes the URLs. The node side does what only node can do (processAll, did:plc
registration, JWTs minted with `createServiceJwt`); the rest (accounts, posts, likes, getFeed) is plain
XRPC through the Python atproto SDK, as a user's app would do it. `close()` leaves no process, schema
or temp folder, and says so in `teardown_report`.

Run by hand: `python tests/e2e/network.py` prints the ready JSON and waits for Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import string
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from atproto import Client, client_utils, models

try:
    from .postgres import Postgres
except ImportError:  # run as a script
    from postgres import Postgres  # type: ignore[no-redef]

E2E_DIR = Path(__file__).resolve().parent
NODE_SCRIPT = E2E_DIR / "network.mjs"
DEFAULT_PASSWORD = "hunter2-e2e"


class NetworkError(RuntimeError):
    """The local network failed to start or a control call failed."""


@dataclass(frozen=True)
class PostRef:
    """A record written by a test user: at-uri and CID (what likes and replies point at)."""

    uri: str
    cid: str

    @property
    def rkey(self) -> str:
        return self.uri.rsplit("/", 1)[-1]


@dataclass
class Account:
    """A user on the local PDS with a logged-in SDK client (their app)."""

    handle: str
    did: str
    password: str
    client: Client = field(repr=False)

    def post(
        self,
        text: str,
        links: Sequence[str] = (),
        *,
        langs: Sequence[str] | None = None,
        reply_to: PostRef | None = None,
        root: PostRef | None = None,
    ) -> PostRef:
        """Create a post; each link is appended with a real link facet (as the app makes them)."""
        builder = client_utils.TextBuilder().text(text)
        for url in links:
            builder.text(" ").link(url, url)
        reply = None
        if reply_to is not None:
            root_ref = root or reply_to
            reply = models.AppBskyFeedPost.ReplyRef(
                parent=models.ComAtprotoRepoStrongRef.Main(uri=reply_to.uri, cid=reply_to.cid),
                root=models.ComAtprotoRepoStrongRef.Main(uri=root_ref.uri, cid=root_ref.cid),
            )
        created = self.client.send_post(
            builder, profile_identify=self.did, langs=list(langs) if langs else None, reply_to=reply
        )
        return PostRef(created.uri, created.cid)

    def like(self, ref: PostRef) -> PostRef:
        created = self.client.like(ref.uri, ref.cid)
        return PostRef(created.uri, created.cid)

    def repost(self, ref: PostRef) -> PostRef:
        created = self.client.repost(ref.uri, ref.cid)
        return PostRef(created.uri, created.cid)

    def delete(self, uri: str) -> None:
        """Delete any record of ours by at-uri (post, like, repost)."""
        _, _, rest = uri.partition("at://")
        repo, collection, rkey = rest.split("/")
        self.client.com.atproto.repo.delete_record(
            models.ComAtprotoRepoDeleteRecord.Data(repo=repo, collection=collection, rkey=rkey)
        )

    def deactivate(self) -> None:
        """The user deactivates their own account (the PDS emits #account active=false)."""
        self.client.com.atproto.server.deactivate_account(models.ComAtprotoServerDeactivateAccount.Data())

    def activate(self) -> None:
        self.client.com.atproto.server.activate_account()

    def get_feed(self, feed: str, *, limit: int | None = None, cursor: str | None = None) -> Any:
        """app.bsky.feed.getFeed through this user's PDS, as the app calls it."""
        return self.client.app.bsky.feed.get_feed(
            models.AppBskyFeedGetFeed.Params(feed=feed, limit=limit, cursor=cursor)
        )


def _drain(stream: Any, log_path: Path, ready: dict[str, Any], event: threading.Event) -> None:
    """Copy node's stdout to the log and catch the ready line, so the pipe never fills."""
    with open(log_path, "a", encoding="utf-8") as log:
        for line in stream:
            log.write(line)
            log.flush()
            if not event.is_set() and line.startswith("{"):
                try:
                    data = json.loads(line)
                except ValueError:
                    continue
                if data.get("event") == "ready":
                    ready.update(data)
                    event.set()
    event.set()  # EOF: wake the waiter, which then sees no ready data


class LocalNetwork:
    """PLC + PDS + AppView on localhost for one test session (or one test)."""

    def __init__(self, postgres: Postgres | None = None, *, ports: dict[str, int] | None = None) -> None:
        self.base_dir = Path(tempfile.mkdtemp(prefix="gitfeed-e2e-"))
        self.tmp_dir = self.base_dir / "tmp"
        self.log_path = self.base_dir / "node.log"
        self._own_postgres = postgres is None
        self.postgres = postgres
        self.ports = ports or {}
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}
        self.startup_seconds = 0.0
        self.teardown_report: dict[str, Any] = {}
        # Chosen here, not by node, so a failed start still knows what to drop.
        self.schema = "gitfeed_run_" + "".join(random.choices(string.ascii_lowercase, k=12))
        self.schemas = [f"appview_{self.schema}", f"ozone_{self.schema}"]
        self._http = httpx.Client(timeout=60)

    # ---- life cycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 180.0) -> LocalNetwork:
        if not (E2E_DIR / "node_modules" / "@atproto" / "dev-env").is_dir():
            raise NetworkError("tests/e2e/node_modules is missing: run scripts/setup_e2e.sh")
        started = time.monotonic()
        try:
            if self.postgres is None:
                os.chmod(self.base_dir, 0o755)  # the cluster's owner must reach its folder inside
                self.postgres = Postgres(base_dir=self.base_dir, remove_if_orphaned=self.base_dir).start()
            self.tmp_dir.mkdir()
            env = dict(os.environ, DB_POSTGRES_URL=self.postgres.url, DB_POSTGRES_SCHEMA=self.schema)
            env["REDIS_HOST"] = "unused:6379"
            env.update(TMPDIR=str(self.tmp_dir), LOG_ENABLED="false", NODE_NO_WARNINGS="1")
            for name, port in self.ports.items():
                env[f"E2E_{name.upper()}_PORT"] = str(port)
            log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 - node's stderr, closed below
            self.proc = subprocess.Popen(
                ["node", str(NODE_SCRIPT)],
                cwd=E2E_DIR,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,  # our own process group: a stray child can be killed with it
            )
            log.close()
            ready = threading.Event()
            threading.Thread(
                target=_drain, args=(self.proc.stdout, self.log_path, self.info, ready), daemon=True
            ).start()
            if not ready.wait(timeout) or not self.info:
                raise NetworkError(f"the network did not start; node.log ends:\n{self.log_tail()}")
        except BaseException:
            self.close()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def close(self) -> dict[str, Any]:
        """Stop node, drop the schemas, stop our PostgreSQL, delete the temp folder; report leftovers."""
        report: dict[str, Any] = {}
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.stdin:
                with contextlib.suppress(OSError):
                    proc.stdin.close()  # network.mjs closes everything when its stdin ends
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)
            report["node_exit"] = proc.returncode
            report["node_alive"] = _alive(proc.pid)
        schemas = self.schemas
        if self.postgres is not None and self.postgres.port:
            try:
                self.postgres.drop_schemas(schemas)
                report["schemas_left"] = [s for s in self.postgres.schemas() if s in schemas]
            except Exception as exc:  # a failed drop must not keep the rest from closing
                report["schemas_error"] = str(exc)
            if self._own_postgres:
                pid = self.postgres.postmaster_pid()
                self.postgres.stop()
                report["postgres_alive"] = bool(pid and _alive(pid))
        self._http.close()
        shutil.rmtree(self.base_dir, ignore_errors=True)
        report["base_dir_left"] = self.base_dir.exists()
        self.teardown_report = report
        return report

    def __enter__(self) -> LocalNetwork:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- where things are -------------------------------------------------------------------------

    @property
    def pds_url(self) -> str:
        return self.info["pds"]

    @property
    def appview_url(self) -> str:
        return self.info["bsky"]

    @property
    def plc_url(self) -> str:
        return self.info["plc"]

    @property
    def firehose_url(self) -> str:
        """The PDS's subscribeRepos, what gitfeed's ingest reads in the e2e scenario."""
        return self.pds_url.replace("http://", "ws://") + "/xrpc/com.atproto.sync.subscribeRepos"

    @property
    def admin_auth(self) -> tuple[str, str]:
        return ("admin", self.info["adminPassword"])

    # ---- node control channel --------------------------------------------------------------------

    def _control(self, path: str, body: dict[str, Any] | None = None, timeout: float = 60) -> dict[str, Any]:
        response = self._http.post(self.info["control"] + path, json=body or {}, timeout=timeout)
        if response.status_code != 200:
            raise NetworkError(f"{path}: {response.status_code} {response.text[:500]}")
        return response.json()

    def process_all(self, timeout: float = 10.0) -> None:
        """Wait until the AppView has indexed everything the PDS has sequenced."""
        self._control("/process-all", {"timeout": int(timeout * 1000)}, timeout=timeout + 30)

    def register_feedgen_did(self, endpoint: str) -> str:
        """A did:plc in the local PLC with service #bsky_fg (BskyFeedGenerator) at endpoint."""
        return self._control("/feedgen-did", {"endpoint": endpoint})["did"]

    def service_jwt(
        self,
        iss: str,
        aud: str,
        lxm: str | None = "app.bsky.feed.getFeedSkeleton",
        *,
        exp: int | None = None,
        forge: bool = False,
    ) -> str:
        """A service-auth JWT as the PDS mints it for the AppView (signed with iss's repo key);
        forge=True signs with a fresh key that no DID document names."""
        body = {"iss": iss, "aud": aud, "lxm": lxm, "forge": forge}
        if exp is not None:
            body["exp"] = exp
        return self._control("/service-jwt", body)["jwt"]

    def takedown(self, did: str, applied: bool = True) -> None:
        """Admin takedown of an account on the PDS (emits #account status=takendown)."""
        self._control("/subject-status", {"did": did, "takedown": applied})

    # ---- users --------------------------------------------------------------------------------

    def create_account(self, name: str, password: str = DEFAULT_PASSWORD) -> Account:
        """A new account NAME.test on the PDS, logged in with the SDK."""
        handle = f"{name}{self.info.get('handleDomain', '.test')}"
        response = self._http.post(
            f"{self.pds_url}/xrpc/com.atproto.server.createAccount",
            json={"handle": handle, "email": f"{name}@example.test", "password": password},
        )
        if response.status_code != 200:
            raise NetworkError(f"createAccount {handle}: {response.status_code} {response.text[:300]}")
        did = response.json()["did"]
        return Account(handle=handle, did=did, password=password, client=self.login(handle, password))

    def login(self, handle: str, password: str) -> Client:
        client = Client(base_url=self.pds_url)
        sessions: list[Any] = []
        client.on_session_change(lambda _event, session: sessions.append(session))
        # No profile lookup: a brand-new account's profile may not be indexed by the AppView yet.
        client.login(handle, password, fetch_bsky_profile=False)
        # The SDK's helpers (send_post, like, repost) take the repo from `me`: give them the session's.
        client.me = models.AppBskyActorDefs.ProfileViewDetailed(
            did=sessions[-1].did, handle=sessions[-1].handle
        )
        return client

    def app_password(self, account: Account, name: str = "gitfeed") -> str:
        """An app password, what an operator gives `gitfeed publish`."""
        created = account.client.com.atproto.server.create_app_password(
            models.ComAtprotoServerCreateAppPassword.Data(name=name)
        )
        return created.password

    def get_feed_anonymous(
        self, feed: str, *, limit: int | None = None, cursor: str | None = None
    ) -> httpx.Response:
        """getFeed straight to the AppView with no auth (a logged-out viewer)."""
        params: dict[str, Any] = {"feed": feed}
        if limit is not None:
            params["limit"] = limit
        if cursor is not None:
            params["cursor"] = cursor
        return self._http.get(f"{self.appview_url}/xrpc/app.bsky.feed.getFeed", params=params)

    def wait_for_feed_generator(self, feed: str, timeout: float = 20.0) -> dict[str, Any]:
        """Poll the AppView until it has indexed the generator record (getFeed needs that)."""
        deadline = time.monotonic() + timeout
        while True:
            response = self._http.get(
                f"{self.appview_url}/xrpc/app.bsky.feed.getFeedGenerator", params={"feed": feed}
            )
            if response.status_code == 200:
                return response.json()
            if time.monotonic() > deadline:
                raise NetworkError(f"getFeedGenerator {feed}: {response.status_code} {response.text[:300]}")
            time.sleep(0.1)

    def get_record(self, repo: str, collection: str, rkey: str) -> httpx.Response:
        """com.atproto.repo.getRecord on the PDS, unauthenticated (records are public)."""
        return self._http.get(
            f"{self.pds_url}/xrpc/com.atproto.repo.getRecord",
            params={"repo": repo, "collection": collection, "rkey": rkey},
        )

    def list_records(self, repo: str, collection: str) -> list[dict[str, Any]]:
        response = self._http.get(
            f"{self.pds_url}/xrpc/com.atproto.repo.listRecords",
            params={"repo": repo, "collection": collection, "limit": 100},
        )
        response.raise_for_status()
        return response.json()["records"]

    def get_blob(self, did: str, cid: str) -> httpx.Response:
        return self._http.get(
            f"{self.pds_url}/xrpc/com.atproto.sync.getBlob", params={"did": did, "cid": cid}
        )


def _alive(pid: int) -> bool:
    """True if pid is a live process (not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def main() -> None:
    """Start the network and hold it until Ctrl-C or SIGTERM (for poking at it by hand)."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    with LocalNetwork() as net:
        print(json.dumps({**net.info, "startup_seconds": round(net.startup_seconds, 1)}), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    print(json.dumps(net.teardown_report))


if __name__ == "__main__":
    main()
