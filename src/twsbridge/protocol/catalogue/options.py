"""The options family, both directions, server versions 157-178.

Option chains (reqSecDefOptParams, answered by securityDefinitionOptionParameter
per exchange and securityDefinitionOptionParameterEnd), TWS's option model
(calculateImpliedVolatility, calculateOptionPrice and their cancels, answered
by tickOptionComputation), option greeks of a market data subscription
(tickOptionComputation with tick types 10-13 and 80-83) and exerciseOptions.

Outgoing ints and floats travel as IB's client sends them: as they are, an
unset one as the sentinel itself (``INT_MAX``, ``FLOAT_RAW``); a contract's
``strike`` is empty when unset. Sources: TWS API reference, "EClient" and
"EWrapper" (Option Chains, Option Greeks, Exercising Options); IB's client and
decoder, whose bytes and readings tests/protocol check these layouts against.
"""

from __future__ import annotations

from dataclasses import field

from ..codec import FLOAT, INT, INT_MAX, STR, Kind, decode_float, encode_float_max
from ..models import Contract
from ..spec import IN, OUT, F, Group, Message, message
from ._contract import contract_fields
from ._order_wire import FLOAT_RAW

__all__ = [
    "NOT_COMPUTED_M1",
    "NOT_COMPUTED_M2",
    "CalculateImpliedVolatility",
    "CalculateOptionPrice",
    "CancelCalculateImpliedVolatility",
    "CancelCalculateOptionPrice",
    "ExerciseOptions",
    "ReqSecDefOptParams",
    "SecurityDefinitionOptionParameter",
    "SecurityDefinitionOptionParameterEnd",
    "TickOptionComputation",
]


# ---------------------------------------------------------------- field kinds


def _not_computed(name: str, sentinel: float, text: str) -> Kind:
    """A float TWS sends as ``sentinel`` when it has not computed it: that value
    decodes to None, and None (or the sentinel) encodes to ``text``."""

    def decode(s: str) -> float | None:
        v = decode_float(s)
        return None if v == sentinel else v

    def encode(v: float | None) -> str:
        return text if v is None or v == sentinel else encode_float_max(v)

    decode.__name__ = f"decode_{name}"
    encode.__name__ = f"encode_{name}"
    return Kind(name, decode, encode, None, object, cached=True)


#: A float of tickOptionComputation whose "not computed" value is -1 (impliedVol,
#: optPrice, pvDividend, undPrice): ``"-1"`` decodes to None, None encodes to ``"-1"``.
#: Any other value, an unset one included, travels as Java prints it.
NOT_COMPUTED_M1 = _not_computed("not_computed_m1", -1.0, "-1")
#: The same for the floats whose "not computed" value is -2 (delta, gamma, vega, theta).
NOT_COMPUTED_M2 = _not_computed("not_computed_m2", -2.0, "-2")


def _raw_conid(items: tuple[F, ...]) -> tuple[F, ...]:
    """Contract fields with the conId as IB's client sends it (``INT_MAX``)."""
    return tuple(F(it.path, INT_MAX) if it.path.endswith(".conId") else it for it in items)


# ---------------------------------------------------------------- outgoing


@message(OUT, 21, "exerciseOptions")
class ExerciseOptions(Message):
    """Exercise or lapse an option (id 21). ``exerciseAction`` 1 exercise, 2 lapse;
    ``exerciseQuantity`` contracts; ``account`` the account holding them (needed
    for advisors); ``override`` 1 to override TWS's natural action (exercise an
    out-of-the-money option), 0 not. TWS answers with openOrder/orderStatus of
    the exercise order, or error (4).

    The contract is sent without ``primaryExchange``. IB's newer fields
    (manualOrderTime from server version 180, customerAccount 183,
    professionalCustomer 184) are beyond 178 and are not sent.
    """

    reqId: int = 0
    contract: Contract = field(default_factory=Contract)
    exerciseAction: int = 1
    exerciseQuantity: int = 1
    account: str = ""
    override: int = 0
    version: int = 2
    WIRE = (
        F("version", INT), F("reqId", INT_MAX), *_raw_conid(contract_fields(primary=False)),
        F("exerciseAction", INT_MAX), F("exerciseQuantity", INT_MAX), F("account", STR),
        F("override", INT_MAX),
    )


@message(OUT, 54, "calculateImpliedVolatility")
class CalculateImpliedVolatility(Message):
    """The implied volatility of an option at ``optionPrice`` with the underlying at
    ``underPrice`` (id 54, prices in the contract's currency); answered by one
    tickOptionComputation with tick type 53. ``implVolOptions`` a "tag=value;"
    text (IB's client sends it empty: "for internal use")."""

    reqId: int = 0
    contract: Contract = field(default_factory=Contract)
    optionPrice: float = 0.0
    underPrice: float = 0.0
    implVolOptions: str = ""
    version: int = 3
    WIRE = (
        F("version", INT), F("reqId", INT_MAX), *_raw_conid(contract_fields()),
        F("optionPrice", FLOAT_RAW), F("underPrice", FLOAT_RAW), F("implVolOptions", STR),
    )


@message(OUT, 55, "calculateOptionPrice")
class CalculateOptionPrice(Message):
    """The price and greeks of an option at ``volatility`` (annualised, 0.25 is 25%)
    with the underlying at ``underPrice`` (id 55); answered by one
    tickOptionComputation with tick type 53. ``optPrcOptions`` a "tag=value;" text
    (IB's client sends it empty)."""

    reqId: int = 0
    contract: Contract = field(default_factory=Contract)
    volatility: float = 0.0
    underPrice: float = 0.0
    optPrcOptions: str = ""
    version: int = 3
    WIRE = (
        F("version", INT), F("reqId", INT_MAX), *_raw_conid(contract_fields()),
        F("volatility", FLOAT_RAW), F("underPrice", FLOAT_RAW), F("optPrcOptions", STR),
    )


@message(OUT, 56, "cancelCalculateImpliedVolatility")
class CancelCalculateImpliedVolatility(Message):
    """Cancel a calculateImpliedVolatility (id 56)."""

    reqId: int = 0
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT_MAX))


@message(OUT, 57, "cancelCalculateOptionPrice")
class CancelCalculateOptionPrice(Message):
    """Cancel a calculateOptionPrice (id 57)."""

    reqId: int = 0
    version: int = 1
    WIRE = (F("version", INT), F("reqId", INT_MAX))


@message(OUT, 78, "reqSecDefOptParams")
class ReqSecDefOptParams(Message):
    """The option chain of an underlying (id 78): one securityDefinitionOptionParameter
    per exchange and trading class, then securityDefinitionOptionParameterEnd.
    ``futFopExchange`` the exchange of the options of a future ("" for stocks and
    indices: every exchange); ``underlyingSecType`` STK, IND or FUT;
    ``underlyingConId`` the underlying's conId (required)."""

    reqId: int = 0
    underlyingSymbol: str = ""
    futFopExchange: str = ""
    underlyingSecType: str = ""
    underlyingConId: int = 0
    WIRE = (
        F("reqId", INT_MAX), F("underlyingSymbol", STR), F("futFopExchange", STR),
        F("underlyingSecType", STR), F("underlyingConId", INT_MAX),
    )


# ---------------------------------------------------------------- incoming


@message(IN, 21, "tickOptionComputation")
class TickOptionComputation(Message):
    """Option greeks and model values (id 21): of a reqMktData on an option
    (``tickType`` 10 bid, 11 ask, 12 last, 13 model; 80-83 the same, delayed) or
    the answer of calculateImpliedVolatility/calculateOptionPrice (53).

    ``tickAttrib`` 0 return-based, 1 price-based (server version 156+: no legacy
    version field). ``impliedVol`` annualised (0.25 is 25%); prices in the
    contract's currency. A value TWS has not computed is None: it travels as -1
    for impliedVol, optPrice, pvDividend and undPrice and as -2 for delta, gamma,
    vega and theta, and None encodes back to that value. IB's decoder reads every
    negative impliedVol as not computed; here only -1 is (any other value is kept
    as sent, so that it re-encodes unchanged).
    """

    reqId: int = 0
    tickType: int = 0
    tickAttrib: int = 0
    impliedVol: float | None = None
    delta: float | None = None
    optPrice: float | None = None
    pvDividend: float | None = None
    gamma: float | None = None
    vega: float | None = None
    theta: float | None = None
    undPrice: float | None = None
    WIRE = (
        F("reqId", INT), F("tickType", INT), F("tickAttrib", INT),
        F("impliedVol", NOT_COMPUTED_M1), F("delta", NOT_COMPUTED_M2),
        F("optPrice", NOT_COMPUTED_M1), F("pvDividend", NOT_COMPUTED_M1),
        F("gamma", NOT_COMPUTED_M2), F("vega", NOT_COMPUTED_M2), F("theta", NOT_COMPUTED_M2),
        F("undPrice", NOT_COMPUTED_M1),
    )


@message(IN, 75, "securityDefinitionOptionParameter")
class SecurityDefinitionOptionParameter(Message):
    """One exchange's option chain of a reqSecDefOptParams (id 75): the options'
    ``tradingClass`` and ``multiplier`` (text, "100"), their ``expirations``
    (``yyyymmdd`` texts) and ``strikes`` (floats), each list in TWS's order
    (IB's decoder gives them as sets)."""

    reqId: int = 0
    exchange: str = ""
    underlyingConId: int = 0
    tradingClass: str = ""
    multiplier: str = ""
    expirations: list[str] = field(default_factory=list)
    strikes: list[float] = field(default_factory=list)
    WIRE = (
        F("reqId", INT), F("exchange", STR), F("underlyingConId", INT),
        F("tradingClass", STR), F("multiplier", STR),
        Group("expirations", None, (F("", STR),)), Group("strikes", None, (F("", FLOAT),)),
    )


@message(IN, 76, "securityDefinitionOptionParameterEnd")
class SecurityDefinitionOptionParameterEnd(Message):
    """End of a reqSecDefOptParams's answers (id 76)."""

    reqId: int = 0
