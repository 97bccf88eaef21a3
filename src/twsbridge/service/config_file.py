"""The service's TOML configuration file (``TWSBRIDGE_CONFIG=FILE`` or ``--config FILE``).

Its keys are the :class:`~twsbridge.service.settings.ServiceSettings` field names
without the ``TWSBRIDGE_`` prefix, at the top level or under a ``[twsbridge]``
table::

    gateway = "127.0.0.1:7497"
    trading_enabled = false
    max_order_quantity = 100
    max_order_notional = 50000
    symbol_denylist = ["GME"]
    orders_per_minute = 30
    require_preview = true

An unknown key is an error (a misspelt guardrail must not pass silently).
Precedence: command-line options, then the environment, then this file, then
the defaults.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

__all__ = ["CONFIG_ENV", "TomlFileSource", "config_file", "using_config_file"]

CONFIG_ENV = "TWSBRIDGE_CONFIG"
_CONFIG: ContextVar[Path | None] = ContextVar("twsbridge_config", default=None)


def config_file() -> Path | None:
    """The configuration file in force: :func:`using_config_file`'s, else ``$TWSBRIDGE_CONFIG``."""
    chosen = _CONFIG.get()
    if chosen is not None:
        return chosen
    text = os.environ.get(CONFIG_ENV, "").strip()
    return Path(text).expanduser() if text else None


@contextmanager
def using_config_file(path: Path | str | None) -> Iterator[None]:
    """Settings built inside read ``path`` (``twsbridge serve --config``)."""
    token = _CONFIG.set(Path(path).expanduser() if path is not None else None)
    try:
        yield
    finally:
        _CONFIG.reset(token)


class TomlFileSource(PydanticBaseSettingsSource):
    """The values of :func:`config_file` (none when there is no file)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.path = config_file()
        self.values: dict[str, Any] = {} if self.path is None else self._load(self.path)

    def _load(self, path: Path) -> dict[str, Any]:
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ValueError(f"cannot read the configuration file {path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"configuration file {path}: {exc}") from exc
        table = data.get("twsbridge", data)
        if not isinstance(table, dict):
            raise ValueError(f"configuration file {path}: [twsbridge] must be a table")
        known = set(self.settings_cls.model_fields)
        unknown = sorted(k for k in table if k not in known and k != "twsbridge")
        if unknown:
            raise ValueError(
                f"configuration file {path}: unknown setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        return {k: v for k, v in table.items() if k in known}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)
