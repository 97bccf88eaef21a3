"""The errors raised by the compiled codecs of :mod:`.spec`, naming the field at fault.

The fast decoder keeps no trace of where it is; when it fails, these helpers
run the message's tracing decoder (``retrace``) on the same fields, whose
error names the field by its path (``"contract.conId"``). Junk in a field may
be megabytes long: error texts quote at most a few dozen characters of it.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import ProtocolError

#: Runs the tracing decoder on a frame's fields (it raises ProtocolError).
Retrace = Callable[[list[str]], object]


def clip(text: str, limit: int = 40) -> str:
    """``repr(text)``, shortened past ``limit`` characters (junk can be megabytes)."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def _retraced(retrace: Retrace, fields: list[str]) -> ProtocolError | None:
    try:
        retrace(fields)
    except ProtocolError as traced:
        return traced
    return None


def failure(name: str, retrace: Retrace) -> Callable[[list[str], int, BaseException, str],
                                                      ProtocolError]:
    """The error of a field that did not decode: ``fail(fields, index, exc, traced_path)``."""

    def fail(f: list[str], i: int, e: BaseException, t: str) -> ProtocolError:
        if not t:  # the fast decoder does not trace: find the field with the tracing one
            traced = _retraced(retrace, f)
            if traced is not None:
                return traced
        if isinstance(e, IndexError):
            what = f"{name}: frame ends early ({len(f) - 1} fields)"
        else:
            what = f"{name}: cannot decode field {i} ({clip(f[i])}): {clip(str(e), 120)}"
        return ProtocolError(what, msg_id=f[0], field=t or f"#{i}", fields=f)

    return fail


def extra(name: str, retrace: Retrace) -> Callable[[list[str], int, str], ProtocolError]:
    """The error of a frame whose field count is off: ``extra(fields, index, traced_path)``."""

    def extra(f: list[str], i: int, t: str) -> ProtocolError:
        if i >= len(f):  # the "" after the final NUL was read as the last field: one short
            if not t:
                traced = _retraced(retrace, f)
                if traced is not None:
                    return traced
            return ProtocolError(
                f"{name}: frame ends early ({len(f) - 1} fields)",
                msg_id=f[0],
                field=t or f"#{len(f) - 1}",
                fields=f,
            )
        return ProtocolError(
            f"{name}: {len(f) - 1 - i} unexpected trailing field(s)",
            msg_id=f[0],
            field=f"#{i}",
            fields=f,
        )

    return extra


def nul_in_value(name: str, msg_id: int) -> Callable[[list[str]], ProtocolError]:
    """The error of an encoded value holding a NUL (it would split the field on the wire)."""

    def nul(p: list[str]) -> ProtocolError:
        k = next((k for k, v in enumerate(p) if "\0" in v), 0)
        return ProtocolError(
            f"{name}: field {k} contains a NUL character, which would split it on the wire",
            msg_id=str(msg_id),
            field=f"#{k}",
        )

    return nul
