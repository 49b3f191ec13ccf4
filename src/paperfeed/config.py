"""Settings, from environment variables (PAPERFEED_*) with defaults that work out of the box."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "paperfeed"


class Settings(BaseModel):
    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None  # default: SQLite file inside data_dir
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = None  # signs sessions and links; generated into data_dir when unset
    # The public address links in mails and feeds point to. Unset, it is derived: from each
    # request (its Host, or X-Forwarded-Host/-Proto from a trusted proxy) in the web server, and
    # from `host` and `port` elsewhere (digests run from cron should set it).
    base_url: str | None = None
    proxy_headers: bool = True  # trust X-Forwarded-Proto/-For/-Host from forwarded_allow_ips
    # Comma-separated addresses or networks, or "*"; uvicorn's FORWARDED_ALLOW_IPS still counts.
    forwarded_allow_ips: str = Field(
        default_factory=lambda: os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1"
    )
    arxiv_api_url: str = "https://export.arxiv.org/api/query"  # where submitted papers are fetched
    # Followed sources (`paperfeed sync`): where they are fetched from and how often.
    oai_url: str = "https://oaipmh.arxiv.org/oai"
    hf_api_url: str = "https://huggingface.co/api/daily_papers"
    sync_interval_hours: float = Field(default=6.0, gt=0)  # between successful syncs of a source
    sync_scheduler: bool = False  # sync followed sources from inside `paperfeed serve`
    sync_batch_size: int = Field(default=500, ge=1)  # records committed together (with the progress)
    # Seconds between requests to one service; unset keeps each service's own rule (arXiv 3 s,
    # Hugging Face 1 s). Only for a local mirror or test server.
    harvest_delay: float | None = Field(default=None, ge=0)
    submissions_per_day: int = Field(default=10, ge=0)  # papers one user may submit per (UTC) day
    # Outgoing mail (digests, confirmations); no smtp_host means mail is off.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str = "paperfeed <paperfeed@localhost>"
    digest_send_hour: int = Field(default=8, ge=0, le=23)  # default local hour of new subscriptions
    digest_scheduler: bool = False  # run due digests from inside `paperfeed serve`
    # Sentence embedder for semantic search (see paperfeed.search.embeddings.EMBEDDERS).
    embedder: str = "minilm-int8"
    embed_worker: bool = True  # embed papers that have no vector yet from inside `paperfeed serve`
    models_dir: Path | None = None  # exported/distilled models; default: data_dir / "models"

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        values: dict = {}
        for name in cls.model_fields:
            env = os.environ.get(f"PAPERFEED_{name.upper()}")
            if env is not None and env != "":
                values[name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'paperfeed.db'}"

    @property
    def public_url(self) -> str:
        """The configured `base_url`, else the address `paperfeed serve` listens on."""
        if self.base_url:
            return self.base_url.rstrip("/")
        host = self.host
        if host in ("", "0.0.0.0", "::"):  # listening everywhere: loopback reaches it from here
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def model_dir(self) -> Path:
        """Models prepared locally from installed weights (ONNX export, static distillation)."""
        return self.models_dir or self.data_dir / "models"

    @property
    def index_dir(self) -> Path:
        """Derived indexes; safe to delete, rebuilt from the store."""
        return self.data_dir / "index"
