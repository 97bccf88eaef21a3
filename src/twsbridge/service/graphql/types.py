"""The GraphQL types, derived from the service's pydantic models (one set of models).

Every object and input type here is made by :func:`derive` from a
Public/Create/Update model of :mod:`..schemas`, :mod:`..order_schemas`,
:mod:`..account_schemas` or :mod:`..event_schemas` with all its fields and
their descriptions; only what GraphQL cannot express is mapped: ``Literal``
choices become ``String`` / ``Int`` (the pydantic model still validates
them) and TWS sizes (``Decimal``) are the ``Size`` scalar, a JSON number as
in REST (see :data:`SCALARS`).
"""

from __future__ import annotations

import inspect
import types as pytypes
from decimal import Decimal
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin

import strawberry
from pydantic import BaseModel
from strawberry.experimental.pydantic import input as pydantic_input
from strawberry.experimental.pydantic import type as pydantic_type
from strawberry.types.scalar import ScalarDefinition

from ..account_schemas import AccountValuePublic, PnLPublic, PositionPublic
from ..event_schemas import OrderEventPublic, TickPublic, TicksPublic
from ..order_schemas import (
    CommissionPublic,
    ExecutionPublic,
    OrderContractPublic,
    OrderCreate,
    OrderPreviewPublic,
    OrderPublic,
    OrderUpdate,
)
from ..schemas import (
    BarPublic,
    BarsPublic,
    ContractDescriptionPublic,
    ContractDetailsPublic,
    ContractPublic,
    QuotePublic,
    TagValuePublic,
)

__all__ = [
    "SCALARS",
    "AccountValueGQL",
    "BarsGQL",
    "ContractDescriptionGQL",
    "ContractDetailsGQL",
    "ExecutionGQL",
    "OrderEventGQL",
    "OrderGQL",
    "OrderInput",
    "OrderPreviewGQL",
    "OrderUpdateInput",
    "PnLGQL",
    "PositionGQL",
    "QuoteGQL",
    "TicksGQL",
    "derive",
]


def _size_number(value: Any) -> int | float | None:
    if value is None:
        return None
    dec = value if isinstance(value, Decimal) else Decimal(str(value))
    return int(dec) if dec == dec.to_integral_value() else float(dec)


def _parse_size(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"a size must be a number, not {value!r}")
    return Decimal(str(value))


SCALARS: dict[object, ScalarDefinition] = {
    Decimal: strawberry.scalar(
        name="Size",
        description="A TWS size (shares, contracts, volume) as a JSON number, integer when "
                    "whole; inputs accept numbers or numeric strings.",
        serialize=_size_number,
        parse_value=_parse_size,
    ),
}
"""``StrawberryConfig.scalar_map`` of the schema: TWS sizes as numbers, as in REST."""


def _graphql_type(tp: Any) -> Any:
    """``tp`` with the ``Literal`` choices (and ``Annotated`` wrappers around them)
    replaced by the type of their values; other types unchanged."""
    origin = get_origin(tp)
    if origin is Literal:
        return type(get_args(tp)[0])
    if origin is Annotated:
        inner = get_args(tp)[0]
        plain = _graphql_type(inner)
        return tp if plain is inner else plain
    if origin in (Union, pytypes.UnionType):
        args = get_args(tp)
        plain_args = tuple(_graphql_type(a) for a in args)
        if plain_args == args:
            return tp
        rest = [a for a in plain_args if a is not type(None)]
        result: Any = rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
        return Optional[result] if len(rest) < len(plain_args) else result  # noqa: UP045
    return tp


def derive(model: type[BaseModel], name: str, *, is_input: bool = False) -> Any:
    """The Strawberry type (or input) named ``name`` with every field of ``model``.

    Nested models must have been derived first (their types are looked up).
    """
    overrides = {}
    for field_name, field in model.model_fields.items():
        plain = _graphql_type(field.annotation)
        if plain is not field.annotation:
            overrides[field_name] = plain
    cls = pytypes.new_class(name, (), {}, lambda ns: ns.update(
        {"__annotations__": overrides, "__module__": __name__}))
    make = pydantic_input if is_input else pydantic_type
    description = inspect.cleandoc(model.__doc__ or "") or None
    return make(model=model, name=name, all_fields=True, description=description)(cls)


# Names are those of the REST models without "Public" (Contract, Quote, Order ...).
ContractGQL = derive(ContractPublic, "Contract")
TagValueGQL = derive(TagValuePublic, "TagValue")
ContractDetailsGQL = derive(ContractDetailsPublic, "ContractDetails")
ContractDescriptionGQL = derive(ContractDescriptionPublic, "ContractDescription")
QuoteGQL = derive(QuotePublic, "Quote")
BarGQL = derive(BarPublic, "Bar")
BarsGQL = derive(BarsPublic, "Bars")
OrderContractGQL = derive(OrderContractPublic, "OrderContract")
CommissionGQL = derive(CommissionPublic, "Commission")
ExecutionGQL = derive(ExecutionPublic, "Execution")
OrderGQL = derive(OrderPublic, "Order")
OrderPreviewGQL = derive(OrderPreviewPublic, "OrderPreview")
OrderInput = derive(OrderCreate, "OrderInput", is_input=True)
OrderUpdateInput = derive(OrderUpdate, "OrderUpdateInput", is_input=True)
PositionGQL = derive(PositionPublic, "Position")
AccountValueGQL = derive(AccountValuePublic, "AccountValue")
PnLGQL = derive(PnLPublic, "PnL")
TickGQL = derive(TickPublic, "Tick")
TicksGQL = derive(TicksPublic, "Ticks")
OrderEventGQL = derive(OrderEventPublic, "OrderEvent")

