"""Wire layouts of a Contract that several messages share."""

from __future__ import annotations

from ..codec import FLOAT, INT, STR
from ..models import ComboLeg
from ..spec import F, Group, When


def contract_fields(prefix: str = "contract", *, primary: bool = True) -> tuple[F, ...]:
    """The 12 contract fields requests send (11 without ``primaryExchange``)."""
    p = prefix + "."
    out = [
        F(p + "conId", INT),
        F(p + "symbol", STR),
        F(p + "secType", STR),
        F(p + "lastTradeDateOrContractMonth", STR),
        F(p + "strike", FLOAT),
        F(p + "right", STR),
        F(p + "multiplier", STR),
        F(p + "exchange", STR),
    ]
    if primary:
        out.append(F(p + "primaryExchange", STR))
    out += [F(p + "currency", STR), F(p + "localSymbol", STR), F(p + "tradingClass", STR)]
    return tuple(out)


def _is_bag(msg: object) -> bool:
    contract = getattr(msg, "contract")  # noqa: B009
    return bool(contract.secType == "BAG")


#: A BAG contract's legs, sent only when ``contract.secType == "BAG"``.
COMBO_LEGS = When(
    _is_bag,
    (
        Group(
            "contract.comboLegs",
            ComboLeg,
            (F("conId", INT), F("ratio", INT), F("action", STR), F("exchange", STR)),
        ),
    ),
)
