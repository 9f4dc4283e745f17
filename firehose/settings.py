"""One validated settings object for every part of gitfeed.

Names follow the official TypeScript starter where they overlap (FEEDGEN_HOSTNAME, FEEDGEN_PORT, ...),
so operators moving from it feel at home. Nothing reads the environment at import time: call
`load_settings()` and pass the object down.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from firehose.topics import TOPICS

ENV_PREFIX = "FEEDGEN_"
ENV_FILE = ".env"
log = logging.getLogger(__name__)
AuthMode = Literal["off", "optional", "required"]
SourceKind = Literal["relay", "jetstream"]


class Settings(BaseSettings):
    """Every FEEDGEN_ setting; see the table in README.md."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=ENV_FILE, extra="ignore")

    # Identity and serving (names from the TypeScript starter).
    hostname: str = "example.com"
    service_did: str = ""
    publisher_did: str = "did:example:alice"
    port: int = Field(3000, ge=0, le=65535)
    listenhost: str = "localhost"
    # What one request may cost before a route runs (feedserver/httpserver.py).
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    max_header_bytes: int = Field(64 * 1024, ge=1024)
    header_timeout_seconds: float = Field(10.0, gt=0)
    health_max_lag_seconds: float = Field(300.0, ge=0)  # 0: health never says stale

    # Ingest.
    subscription_endpoint: str = "wss://bsky.network"
    jetstream_endpoint: str = "wss://jetstream.us-east.bsky.network"
    source: str = "relay"
    sqlite_location: Path = Path("gitfeed.db")
    # `gitfeed run`: ingest's CPU priority below serve's (nice), so requests win when the two share cores.
    ingest_nice: int = Field(0, ge=0, le=19)
    # The store: unset (or sqlite:///PATH) is the SQLite file above; postgresql://... is PostgreSQL.
    database_url: str = ""
    batch_max_events: int = Field(2000, ge=1)
    batch_max_seconds: float = Field(0.5, gt=0)
    batch_min_seconds: float = Field(0.1, ge=0)
    max_frame_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    receive_timeout_seconds: float = Field(30.0, gt=0)
    backoff_initial_seconds: float = Field(0.5, gt=0)
    backoff_max_seconds: float = Field(10.0, gt=0)
    healthy_after_seconds: float = Field(60.0, gt=0)
    retention_days: float = Field(7.0, gt=0)

    # Classification.
    scorer: Literal["model", "link"] = "model"
    model: str = ""
    device: str = "auto"
    embed_batch_size: int = Field(0, ge=0)  # 0 = auto: 32 on CPU, 256 on a GPU
    threshold_github: float = Field(0.5, ge=0, le=1)
    threshold_ml: float = Field(0.5, ge=0, le=1)
    heads_path: Path | None = None
    # Speed/quality knobs of the classifier (see firehose/classify/README.md for measurements).
    embed_precision: Literal["auto", "fp32", "fp16", "bf16", "int8"] = "auto"
    embed_max_seq_length: int = Field(64, ge=8, le=512)  # 64 measured: same quality as 128, faster
    embed_threads: int = Field(0, ge=0)
    # int8 on a CPU runs on ONNX Runtime when it is installed ("auto"); "torch" keeps torch's dynamic int8.
    embed_runtime: Literal["auto", "torch", "onnx"] = "auto"
    onnx_cache_dir: str = ""  # where the exported int8 model is kept; "" = ~/.cache/gitfeed/onnx
    classify_prefilter: bool = True
    # Scoring workers (`gitfeed scorer`, Ray Serve): set, ingest sends the first stage's survivors there.
    scorer_url: str = ""
    scorer_timeout_seconds: float = Field(30.0, gt=0)
    # The label queue (firehose/store/labels.py): posts waiting for the operator's label.
    label_queue_max: int = Field(1000, ge=0)  # rows per reason, oldest dropped; 0 turns the queue off
    label_margin: float = Field(0.15, ge=0, le=0.5)
    label_admission_share: float = Field(0.02, ge=0, le=1)

    # Ranking.
    engagement_weight: float = Field(1.0, ge=0)
    repost_weight: float = Field(2.0, ge=0)
    half_life_hours: float = Field(12.0, gt=0)
    include_replies: bool = False
    feed_max_posts: int = Field(10000, ge=1)
    snapshot_ttl_seconds: float = Field(600.0, gt=0)
    snapshot_refresh_seconds: float = Field(1.0, ge=0)
    # The server's memory (feedserver/snapshots.py, feedserver/feedback.py), whatever the requests.
    snapshot_budget_mb: float = Field(128.0, gt=0)
    fallback_rebuilds_per_minute: int = Field(30, ge=1)
    feedback_max_per_viewer: int = Field(500, ge=1)
    feedback_retention_days: float = Field(30.0, gt=0)

    # Auth.
    auth_mode: AuthMode = "optional"
    plc_url: str = "https://plc.directory"
    # Resolving viewers' keys (feedserver/identity.py): every bound a stranger's token could push on.
    did_timeout_seconds: float = Field(3.0, gt=0)
    did_max_bytes: int = Field(64 * 1024, ge=1024)
    did_cache_size: int = Field(10_000, ge=1)
    did_cache_ttl_seconds: float = Field(3600.0, gt=0)
    did_failure_ttl_seconds: float = Field(300.0, ge=0)
    did_refresh_interval_seconds: float = Field(60.0, ge=0)
    did_web_localhost: bool = False
    cursor_secret: str = ""
    admin_token: str = ""

    # Publishing.
    pds_url: str = "https://bsky.social"
    publish_handle: str = ""  # gitfeed publish prompts when empty
    publish_password: SecretStr = SecretStr("")  # an app password; never logged

    @field_validator("hostname")
    @classmethod
    def _bare_hostname(cls, value: str) -> str:
        if "://" in value or "/" in value:
            raise ValueError("FEEDGEN_HOSTNAME is a bare host name such as feed.example.com")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("FEEDGEN_DATABASE_URL is sqlite:///PATH or postgresql://USER@HOST:PORT/DB")
        return value

    @field_validator("scorer_url")
    @classmethod
    def _scorer_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("FEEDGEN_SCORER_URL is the scoring workers' http://HOST:PORT")
        return value

    @model_validator(mode="after")
    def _sqlite_url(self) -> Settings:
        if self.database_url.startswith("sqlite:///"):
            self.sqlite_location = Path(self.database_url[len("sqlite:///") :])
            self.database_url = ""
        return self

    @property
    def store_target(self) -> str:
        """What `open_db` opens: the PostgreSQL URL, else the SQLite file's path."""
        return self.database_url or str(self.sqlite_location)

    @model_validator(mode="after")
    def _default_service_did(self) -> Settings:
        if not self.service_did:
            self.service_did = "did:web:" + self.hostname.replace(":", "%3A")
        return self

    @property
    def thresholds(self) -> dict[str, float]:
        """Per-topic keep thresholds."""
        return {topic: getattr(self, f"threshold_{topic}") for topic in TOPICS}


def unknown_names(environ: Mapping[str, str], env_file: Path | None = None) -> list[str]:
    """`FEEDGEN_*` names in `environ` or the `env_file` that are no setting (a typo is ignored silently
    by pydantic-settings, so the operator would never learn that FEEDGEN_PROT did nothing)."""
    names = {name.upper() for name in environ if name.upper().startswith(ENV_PREFIX)}
    if env_file is not None and env_file.is_file():
        from dotenv import dotenv_values  # pydantic-settings' own .env reader

        names |= {name.upper() for name in dotenv_values(env_file) if name.upper().startswith(ENV_PREFIX)}
    known = {ENV_PREFIX + field.upper() for field in Settings.model_fields}
    return sorted(names - known)


def unknown_names_warning(names: list[str]) -> str:
    """One line naming each unknown setting, with the closest real one where there is one."""
    known = [ENV_PREFIX + field.upper() for field in Settings.model_fields]
    described = []
    for name in names:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        described.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return f"ignoring unknown setting{'s' if len(names) > 1 else ''}: {', '.join(described)}"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment and `.env`, with CLI flags (non-None) taking precedence.

    A `sqlite_location` override (`--db`) names the store outright: a `postgresql://` URL selects
    PostgreSQL, a path selects that SQLite file even where FEEDGEN_DATABASE_URL names another store.
    Unknown `FEEDGEN_*` names (environment or `.env`) are warned about in one log line.
    """
    values = {key: value for key, value in overrides.items() if value is not None}
    location = values.get("sqlite_location")
    if location is not None:
        text = str(location)
        if text.startswith(("postgresql://", "postgres://", "sqlite:///")):
            values["database_url"] = values.pop("sqlite_location")
        else:
            values.setdefault("database_url", "")
    settings = Settings(**values)
    unknown = unknown_names(os.environ, Path(ENV_FILE))
    if unknown:
        log.warning(unknown_names_warning(unknown))
    return settings
