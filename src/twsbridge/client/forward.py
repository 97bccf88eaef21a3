"""Attributes of the ``TWSClient`` facade that live on its ``ClientCore``."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

__all__ = ["CoreAttribute"]

T = TypeVar("T")


class CoreAttribute(Generic[T]):
    """An attribute of an object with a ``_core`` (the TWSClient), kept by the
    core under the same name (read and written there)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> CoreAttribute[T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> T: ...
    def __get__(self, obj: object | None, owner: type) -> T | CoreAttribute[T]:
        if obj is None:
            return self
        value: T = getattr(_core(obj), self.name)
        return value

    def __set__(self, obj: object, value: T) -> None:
        setattr(_core(obj), self.name, value)


def _core(obj: object) -> Any:
    return vars(obj)["_core"]
