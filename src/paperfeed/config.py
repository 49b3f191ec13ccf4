"""Settings, from environment variables (PAPERFEED_*) with defaults that work out of the box."""

from __future__ import annotations

import os
from pathlib import Path

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
    base_url: str = "http://127.0.0.1:8000"

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
    def index_dir(self) -> Path:
        """Derived indexes; safe to delete, rebuilt from the store."""
        return self.data_dir / "index"
