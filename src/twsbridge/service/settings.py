"""Configuration of the twsbridge service (pydantic-settings, env prefix ``TWSBRIDGE_``).

Every field can be set in the environment (``TWSBRIDGE_GATEWAY=127.0.0.1:7497``,
``TWSBRIDGE_CLIENT_ID=21``) or passed to :class:`ServiceSettings` directly;
``twsbridge serve`` passes its command-line options that way, so options win over
the environment.
"""

from __future__ import annotations

import datetime as dt
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .config_file import TomlFileSource
from .security.settings import GuardrailSettings

__all__ = ["DEFAULT_CLIENT_ID", "VERSION", "ServiceSettings", "parse_gateway"]


def _package_version() -> str:
    try:
        return version("twsbridge")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0+unknown"


VERSION = _package_version()
"""Version of the installed twsbridge distribution."""

DEFAULT_CLIENT_ID = 17
"""Client id of the service's TWS connection.

Not 0 (which also receives orders placed in TWS itself) and not 1 (the id most
scripts and examples use), so that the service and a script can share one TWS.
"""


def parse_gateway(value: str) -> tuple[str, int]:
    """Split ``"HOST:PORT"`` (or ``"[::1]:PORT"``) into ``(host, port)``.

    Raises:
        ValueError: when the text is not ``HOST:PORT`` with a port in 1..65535.
    """
    host, sep, port_text = value.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"gateway must be HOST:PORT, e.g. 127.0.0.1:7497 (got {value!r})")
    return host, int(port_text)


class ServiceSettings(BaseSettings, GuardrailSettings):
    """Settings of the REST service.

    The order guardrails (``trading_enabled``, ``max_order_quantity`` ...) come
    from :class:`~twsbridge.service.security.settings.GuardrailSettings`; a TOML
    file (``TWSBRIDGE_CONFIG`` / ``--config``, see :mod:`.config_file`) may set
    any field, below the environment and explicit arguments.

    ``gateway`` ``None`` (the default) starts the embedded simulated gateway
    in process, listening on no socket unless ``sim_port`` is set (then on
    127.0.0.1 only), and says so loudly; ``"HOST:PORT"`` connects to a
    real TWS / IB Gateway (or a ``twsbridge sim`` running elsewhere).
    """

    model_config = SettingsConfigDict(env_prefix="TWSBRIDGE_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address the HTTP service binds to.")
    port: int = Field(default=8000, ge=0, le=65535, description="HTTP port (0 = any free port).")
    gateway: str | None = Field(
        default=None,
        description="TWS / IB Gateway as HOST:PORT; unset = embedded simulator.",
    )
    client_id: int = Field(
        default=DEFAULT_CLIENT_ID, description="TWS client id of the service's connection."
    )
    sim_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="TCP port the embedded simulator also listens on, on 127.0.0.1 only "
        "(0 = any free port); unset = no listener: the service reaches it in process "
        "and nobody else can.",
    )
    sim_seed: int = Field(
        default=0, description="Seed of the embedded simulator's synthetic prices."
    )
    sim_speed: float = Field(
        default=1.0, ge=0, description="Simulated seconds per real second (0 = frozen clock)."
    )
    sim_start: dt.datetime | None = Field(
        default=None,
        description="Where the embedded simulator's clock starts (ISO 8601; without an "
        "offset, US/Eastern), e.g. 2013-03-01T10:00 for a reproducible replay of the last "
        "real data day; unset = the present, as a real TWS.",
    )
    connect_timeout: float = Field(
        default=10.0, gt=0, description="Seconds allowed for connecting to the gateway."
    )
    historical_pacing: bool = Field(
        default=True,
        description="Queue historical requests (bars, ticks) under TWS's pacing rules, so "
        "that TWS never answers 162 for pacing; false sends them at once (for a gateway "
        "that paces nothing, such as a simulator with pacing off).",
    )
    request_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds allowed for one HTTP request (its TWS calls); then 504.",
    )
    log_level: str = Field(default="info", description="Log level of the service and uvicorn.")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log lines as readable text or as JSON objects (ts, level, logger, "
        "message and context: request_id, route, status, latency_ms, orderId ...).",
    )
    metrics_public: bool = Field(
        default=False,
        description="Serve GET /metrics without an API key (else the admin scope is needed).",
    )
    journal_url: str | None = Field(
        default=None,
        description=(
            "Order journal database: a SQLite file path or sqlite:///FILE, or "
            "postgresql://USER@HOST/DB; unset = journal.sqlite3 in the user's data directory."
        ),
    )
    order_ack_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds POST/PUT/DELETE /orders wait for TWS to acknowledge the order.",
    )

    ssl_certfile: str | None = Field(
        default=None, description="TLS certificate (PEM) to serve HTTPS; with ssl_keyfile."
    )
    ssl_keyfile: str | None = Field(
        default=None, description="TLS private key (PEM) of ssl_certfile."
    )

    # HTTP limits (service/limits.py, service/http_server.py)
    max_body_size: int = Field(
        default=1 << 20, ge=1,
        description="Largest request body in bytes (1 MiB); larger is 413, unread.",
    )
    mcp_max_body_size: int = Field(
        default=4 << 20, ge=1, description="Largest request body in bytes at /mcp (4 MiB).",
    )
    max_connections: int = Field(
        default=1000, ge=1,
        description="Open HTTP and WebSocket connections; more are answered 503 and closed "
        "(kept below the open-files limit, which is raised to its hard limit at start).",
    )
    header_timeout: float = Field(
        default=10.0, gt=0,
        description="Seconds a request's headers may take to arrive; then 408 and closed.",
    )
    body_timeout: float = Field(
        default=30.0, gt=0,
        description="Seconds a request's body may take to arrive after its headers; then "
        "408 and closed.",
    )
    http_backlog: int = Field(
        default=2048, ge=1, description="Connections the kernel queues before they are accepted.",
    )
    limit_log_interval: float = Field(
        default=10.0, gt=0,
        description="Refused connections and timeouts are logged once per this many seconds, "
        "with their count.",
    )

    # GraphQL cost limits (see twsbridge.service.graphql.limits): a request over one is a
    # GraphQL error with status 400 naming the setting, before anything runs
    graphql_max_depth: int = Field(
        default=12, ge=1,
        description="GraphQL: fields nested in an operation (introspection not counted).",
    )
    graphql_max_aliases: int = Field(
        default=30, ge=0, description="GraphQL: aliases in one document.")
    graphql_max_tokens: int = Field(
        default=2000, ge=1, description="GraphQL: tokens of one query document.")
    graphql_max_query_length: int = Field(
        default=50_000, ge=1, description="GraphQL: characters of one query document.")
    graphql_max_nesting: int = Field(
        default=32, ge=2,
        description="GraphQL: nesting of the query's { [ ( (fragments expanded) and of the "
        "request's JSON (variables), checked before either is parsed.",
    )
    graphql_max_json_values: int = Field(
        default=1000, ge=1,
        description="GraphQL: values (objects, arrays, scalars) in a request's JSON.",
    )
    graphql_max_fields: int = Field(
        default=1000, ge=1,
        description="GraphQL: fields an operation selects, each fragment counted where used.",
    )
    graphql_max_tws_fields: int = Field(
        default=10, ge=1,
        description="GraphQL: fields of one operation that each send TWS a request (quote, "
        "bars, contracts ...).",
    )
    graphql_tws_concurrency: int = Field(
        default=2, ge=1,
        description="GraphQL: TWS requests one HTTP request (or one WebSocket) has "
        "outstanding at once.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the TOML configuration file."""
        return (init_settings, env_settings, dotenv_settings, TomlFileSource(settings_cls),
                file_secret_settings)

    @field_validator("gateway")
    @classmethod
    def _check_gateway(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_gateway(value)
        return value.strip()

    @field_validator("journal_url")
    @classmethod
    def _check_journal_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from .journal.database import async_url

        async_url(value)
        return value.strip()

    @property
    def simulated(self) -> bool:
        """True when the service runs the embedded simulator (no gateway given)."""
        return self.gateway is None

    @property
    def gateway_address(self) -> tuple[str, int] | None:
        """``(host, port)`` of the configured gateway, ``None`` in simulator mode."""
        return None if self.gateway is None else parse_gateway(self.gateway)

    # -- the embedded simulator's persistent paper account (issue 9, item 10)
    sim_state: str | None = Field(
        default=None,
        description=(
            "File where the embedded simulator's paper account persists across restarts "
            "(orders, executions, positions, cash, id counters); unset = beside a SQLite "
            "journal (JOURNAL.sim-account.sqlite3), or sim-account-DB.sqlite3 in the user's "
            "data directory for a PostgreSQL journal."
        ),
    )
    sim_reset: bool = Field(
        default=False,
        description="Start the embedded simulator with a fresh account (the previous file "
        "is kept as a timestamped backup).",
    )

    @property
    def sim_state_path(self) -> Path:
        """The embedded simulator's account file (see ``sim_state``)."""
        if self.sim_state:
            return Path(self.sim_state).expanduser().resolve()
        from sqlalchemy.engine import make_url

        from .journal.database import async_url, default_journal_path

        url = make_url(async_url(self.journal_url))
        database = url.database or ""
        if url.get_backend_name() == "sqlite" and database and database != ":memory:" \
                and not database.startswith("file:"):
            journal = Path(database).expanduser()
            return journal.with_name(f"{journal.name}.sim-account.sqlite3")
        name = "-".join(p for p in (url.host, str(url.port or ""), database) if p) or "memory"
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
        return default_journal_path().with_name(f"sim-account-{safe}.sqlite3")
