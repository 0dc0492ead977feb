"""Settings from the environment (prefix PEERLINE_) or a `.env` file; see `.env.example`."""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.languages import LANGUAGES, Language

log = logging.getLogger(__name__)

# Telegram tokens look like "123456:ABC-def_..."; checking the shape catches a pasted typo
# at start-up instead of as an opaque 401 later.
_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PEERLINE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- Telegram ---------------------------------------------------------------------------
    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    # Webhook mode is used when webhook_url is set; otherwise the bot polls.
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    # Largest webhook request body accepted, in bytes (Telegram's updates are a few KiB).
    webhook_max_body: int = Field(default=1024 * 1024, ge=16 * 1024, le=64 * 1024 * 1024)

    # --- Operations ---------------------------------------------------------------------------
    # A port for GET /healthz and GET /metrics (Prometheus text); unset: no such server.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_listen: str = "127.0.0.1"
    # For end-to-end tests only: seconds added to the scheduler's clock, so a post scheduled a
    # minute ahead is due at once in a restarted process instead of after a real minute.
    clock_offset_seconds: float = Field(default=0.0, ge=0, le=7 * 24 * 3600)

    # --- Storage and privacy ----------------------------------------------------------------
    data_dir: Path = Path("./data")
    database_url: str | None = None
    secret_key: SecretStr | None = None
    retention_days: int = Field(default=90, ge=1, le=3650)
    report_min_cell: int = Field(default=5, ge=2, le=100)  # smaller report cells show "<5"
    protect_content: bool = True

    # --- People and languages ---------------------------------------------------------------
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    default_language: Language = "ru"

    # --- Consultation -------------------------------------------------------------------------
    # Shown to clients when nobody is on duty and no consultant has set /rota hours,
    # e.g. "Mon-Fri 10:00-18:00 (Kyiv time)".
    office_hours: str = ""
    # The organisation's time zone: /rota hours are wall-clock times in it.
    timezone: str = "Europe/Kyiv"
    # Days after a "referred" close when the client is asked whether they got there.
    follow_up_days: int = Field(default=3, ge=1, le=60)
    # A request waiting longer than this alerts supervisors (once).
    wait_alert_minutes: int = Field(default=30, ge=1, le=1440)
    # Care for consultants: after this many hours on duty they are reminded, once a shift, to
    # rest; "take a break" puts them off duty for `break_minutes`, then back on.
    duty_reminder_hours: int = Field(default=4, ge=1, le=24)
    break_minutes: int = Field(default=15, ge=5, le=240)
    # Languages a client of one language may also read, in order of preference: when nobody
    # on duty writes the client's language but someone writes one of these, the client is
    # offered to continue in it. "kk=ru; uk=ru,en"; a language not named has none.
    language_fallbacks: Annotated[dict[str, tuple[str, ...]], NoDecode] = Field(
        default_factory=lambda: {"kk": ("ru",), "uk": ("ru", "en")}
    )
    # Optional staff forum mode: the id of a staff supergroup with topics (e.g.
    # -1001234567890). Each conversation gets its own topic there; what staff write in it goes
    # to the client. The bot must be an admin there that can manage topics.
    staff_group_id: int | None = None
    # The bot's @username without "@", for invitation links (t.me/<username>?start=...).
    bot_username: str | None = None

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not a time zone name such as Europe/Kyiv or Asia/Almaty") from None
        return v

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not _TOKEN_RE.match(v.get_secret_value()):
            raise ValueError("does not look like a bot token from @BotFather (digits:letters)")
        return v

    @field_validator("secret_key")
    @classmethod
    def _secret_length(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return v

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not _WEBHOOK_SECRET_RE.match(v.get_secret_value()):
            raise ValueError("must be 16-256 characters of A-Z, a-z, 0-9, _ and -")
        return v

    @field_validator("telegram_api_url", "webhook_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/") if v else v

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, v: object) -> object:
        if isinstance(v, str):
            return [part.strip() for part in v.split(",") if part.strip()]
        return v

    @field_validator("language_fallbacks", mode="before")
    @classmethod
    def _parse_fallbacks(cls, v: object) -> object:
        if not isinstance(v, str):
            return v
        fallbacks: dict[str, tuple[str, ...]] = {}
        for rule in filter(None, (part.strip() for part in v.split(";"))):
            language, equals, others = rule.partition("=")
            targets = tuple(o.strip() for o in others.split(",") if o.strip())
            named = [language.strip(), *targets]
            if not equals or any(name not in LANGUAGES for name in named):
                raise ValueError('must look like "kk=ru; uk=ru,en" (languages ru, uk, kk, en)')
            fallbacks[language.strip()] = tuple(t for t in targets if t != language.strip())
        return fallbacks

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'peerline.db'}"

    def require_token(self) -> str:
        if self.bot_token is None:
            raise ConfigError("PEERLINE_BOT_TOKEN is not set: get a token from @BotFather")
        return self.bot_token.get_secret_value()

    def resolve_secret_key(self) -> str:
        """The configured key, or one generated once into the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key, encoding="utf-8")
        log.warning(
            "PEERLINE_SECRET_KEY is not set: generated one into %s. Back it up apart from the "
            "database; without it stored chats cannot be read.",
            path,
        )
        return key


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with a one-line error naming the bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "PEERLINE_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from None
