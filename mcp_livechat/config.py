"""Settings: every `LIVECHAT_*` variable of the README's configuration table, validated once at start.

Only `cli`, `server` and `http_app` read `Settings`; everything else takes explicit arguments.
`load_settings` turns any problem into one `ConfigurationError` line that names the variable.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from mcp_livechat.errors import ConfigurationError

CommaList = Annotated[list[str], NoDecode]

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIVECHAT_", extra="ignore", validate_default=True)

    # Credentials
    pat: SecretStr | None = None
    account_id: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    redirect_uri: str | None = None
    scopes: CommaList = Field(default_factory=list)
    credentials: Literal["auto", "pat", "oauth"] = "auto"

    # LiveChat endpoints
    api_url: str = "https://api.livechatinc.com"
    accounts_url: str = "https://accounts.livechat.com"
    api_version: str = "3.6"
    http_timeout: float = Field(20.0, gt=0, le=120)
    app_url: str = "https://my.livechatinc.com"  # LiveChat's agent app, for links in results

    # Tool selection
    toolsets: CommaList = Field(default_factory=list)
    tools: CommaList = Field(default_factory=list)
    exclude_tools: CommaList = Field(default_factory=list)
    read_only: bool = False

    # Connection storage and health
    token_store: str | None = None
    encryption_key: SecretStr | None = None
    store_timeout: float = Field(2.0, gt=0, le=60)
    health_interval: float = Field(900.0, ge=0, le=86400)

    # HTTP serving
    public_url: str | None = None
    allowed_hosts: CommaList = Field(default_factory=list)
    allowed_origins: CommaList = Field(default_factory=list)
    http_stateless: bool = False
    http_session_idle: float = Field(600.0, gt=0, le=86400)
    http_max_sessions: int = Field(1000, ge=1, le=1_000_000)
    max_sessions_per_caller: int = Field(20, ge=1, le=10_000)
    metrics: bool = True
    mcp_auth: Literal["none", "jwt", "api-key"] = "none"
    mcp_jwks_url: str | None = None
    mcp_issuer: str | None = None
    mcp_audience: str | None = None
    mcp_tenant_claim: str | None = None
    mcp_email_claim: str | None = None
    mcp_api_keys_file: Path | None = None

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "WARNING"
    log_format: Literal["text", "json"] = "text"

    @field_validator(
        "scopes", "toolsets", "tools", "exclude_tools", "allowed_hosts", "allowed_origins", mode="before"
    )
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(" ", ",").split(",") if part.strip()]
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        """Host header values (`mcp.example.com`, `mcp.example.com:8443`, `mcp.example.com:*`):
        a URL there would match no request, and every one would be refused (421)."""
        for host in value:
            if "/" in host or "@" in host:
                raise ValueError(f"{host!r} is not a host: give host or host:port, e.g. mcp.example.com")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        """Origin header values: scheme://host[:port], no path (browsers send no path); any
        scheme (`https`, `chrome-extension`, `vscode-webview`, ...)."""
        for origin in value:
            scheme, sep, rest = origin.partition("://")
            valid_scheme = scheme[:1].isalpha() and all(c.isalnum() or c in "+.-" for c in scheme)
            if not sep or not valid_scheme or not rest or "/" in rest.rstrip("/"):
                raise ValueError(
                    f"{origin!r} is not an origin: give scheme://host[:port], e.g. https://app.example.com"
                )
        return [origin.rstrip("/") for origin in value]

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("account_id")
    @classmethod
    def _account_id(cls, value: str | None) -> str | None:
        if value is not None and not _UUID.match(value.strip()):
            raise ValueError(
                "must be your LiveChat Account ID, a UUID like b7eff798-f8df-4364-8059-649c35c9ed0c"
            )
        return value.strip() if value else value

    @field_validator("api_url", "accounts_url", "app_url", "redirect_uri", "public_url", "mcp_jwks_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"must be an http(s) URL, got {value[:80]!r}")
        return value.rstrip("/") if parts.path in ("", "/") else value

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"3\.\d+", value):
            raise ValueError("must be a LiveChat API version like 3.6")
        return value

    @field_validator("token_store")
    @classmethod
    def _store(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must be sqlite:///path/to/file.db or postgresql://...")
        return value

    @field_validator("health_interval")
    @classmethod
    def _interval(cls, value: float) -> float:
        if 0 < value < 1:
            raise ValueError("must be 0 (no health sweeps) or at least 1 second")
        return value

    @field_validator("encryption_key")
    @classmethod
    def _keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            for n, part in enumerate(value.get_secret_value().split(","), 1):
                try:
                    raw = base64.b64decode(part.strip(), validate=True)
                except (binascii.Error, ValueError):
                    raw = b""
                if len(raw) != 32:
                    raise ValueError(
                        f"key {n} is not base64 of 32 bytes (make one with: openssl rand -base64 32)"
                    )
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        if self.pat and not self.account_id:
            raise _Problem("account_id", "is required with LIVECHAT_PAT (your Account ID, a UUID)")
        if self.account_id and not self.pat and self.credentials == "pat":
            raise _Problem("pat", "is required when LIVECHAT_CREDENTIALS=pat")
        if self.client_id and not self.client_secret:
            raise _Problem("client_secret", "is required with LIVECHAT_CLIENT_ID (server-side app)")
        if self.credentials == "oauth" and not self.client_id:
            raise _Problem("client_id", "is required when LIVECHAT_CREDENTIALS=oauth")
        if self.credentials == "auto" and self.pat and self.client_id:
            raise _Problem(
                "credentials",
                "both a PAT and an OAuth app are configured; set LIVECHAT_CREDENTIALS=pat or oauth",
            )
        if self.mcp_auth == "jwt":
            for name in ("mcp_jwks_url", "mcp_issuer", "mcp_audience"):
                if not getattr(self, name):
                    raise _Problem(name, "is required when LIVECHAT_MCP_AUTH=jwt")
        if self.mcp_email_claim and self.mcp_auth != "jwt":
            raise _Problem("mcp_email_claim", "needs LIVECHAT_MCP_AUTH=jwt (the claim is read from the JWT)")
        if self.mcp_auth == "api-key" and not self.mcp_api_keys_file:
            raise _Problem("mcp_api_keys_file", "is required when LIVECHAT_MCP_AUTH=api-key")
        return self

    @property
    def credential_mode(self) -> Literal["pat", "oauth", "none"]:
        """Which credential serves tool calls: explicit setting, else whichever is configured."""
        if self.credentials != "auto":
            return self.credentials
        if self.pat:
            return "pat"
        return "oauth" if self.client_id else "none"

    def encryption_keys(self) -> list[bytes]:
        if self.encryption_key is None:
            return []
        return [base64.b64decode(p.strip()) for p in self.encryption_key.get_secret_value().split(",")]


class _Problem(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field


def env_name(field: str) -> str:
    return f"LIVECHAT_{field.upper()}"


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (and `overrides`, e.g. from flags), or one clear error line."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except _Problem as exc:
        raise ConfigurationError(f"{env_name(exc.field)} {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _Problem):
            raise ConfigurationError(f"{env_name(ctx_error.field)} {ctx_error}") from None
        field = str(err["loc"][0]) if err.get("loc") else "?"
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(f"{env_name(field)}: {message}") from None


def data_dir() -> Path:
    """Where the embedded token store lives by default: the user data directory of the platform
    (`platformdirs`): ``$XDG_DATA_HOME`` or ``~/.local/share`` on Linux, ``~/Library/Application
    Support`` on macOS, the roaming ``%APPDATA%`` on Windows; then ``mcp-livechat``."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("mcp-livechat", appauthor=False, roaming=True))
