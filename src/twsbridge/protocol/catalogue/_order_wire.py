"""Field kinds and wire layouts that placeOrder, openOrder and completedOrder share.

Every function returns a tuple of wire items for one stretch of an order's
layout; the messages (``orders_in``, ``orders_out``) compose them in TWS's
order. Paths are ``contract.*``, ``order.*`` and ``orderState.*``.

The kinds below are the text forms TWS and IB's clients use beside those of
:mod:`~twsbridge.protocol.codec`:

* ``FLOAT_RAW``: a float IB's client sends as Python prints it, unset included
  (``"1.7976931348623157e+308"``): placeOrder's triggerPrice, cashQty...
* ``FLOAT_TRIM``: a float TWS sends without a fraction when it is whole
  (``"0"``, ``"196.52"``): openOrder's strike, discretionaryAmt and cashQty,
  orderStatus's prices;
* ``CONJ``: an order condition's conjunction, ``"a"`` (and, True) or ``"o"``;
* ``OPT_BOOL``: a tri-state boolean, ``""`` for None (usePriceMgmtAlgo);
* ``TAGS``: a TagValue list sent as one text, ``"tag=value;tag=value;"``.
"""

from __future__ import annotations

from typing import Any

from ..codec import (
    BOOL,
    DECIMAL,
    FLOAT,
    FLOAT_MAX,
    INFINITY,
    INT,
    INT_MAX,
    STR,
    UNSET_DOUBLE,
    Kind,
    decode_bool,
    decode_float,
    encode_float,
)
from ..models import ComboLeg, DeltaNeutralContract, TagValue
from ..order_models import (
    ExecutionCondition,
    MarginCondition,
    OrderComboLeg,
    PercentChangeCondition,
    PriceCondition,
    TimeCondition,
    VolumeCondition,
)
from ..spec import F, Flag, Group, PolyGroup, When, _Item
from ..versions import ServerVersion as V

__all__ = [
    "CONJ",
    "FLOAT_RAW",
    "FLOAT_TRIM",
    "OPT_BOOL",
    "TAGS",
]

_FLOAT_INLINE = "(float({0}) if {0} else UNSET_DOUBLE)"


def _encode_float_raw(v: float) -> str:
    if v == INFINITY:
        return "Infinity"
    if v == -INFINITY:
        return "-Infinity"
    return repr(float(v))


def _encode_float_trim(v: float) -> str:
    v = float(v)
    if v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    return encode_float(v)


def _decode_conj(s: str) -> bool:
    return s == "a"


def _encode_conj(v: bool) -> str:
    return "a" if v else "o"


def _decode_opt_bool(s: str) -> bool | None:
    return None if s == "" else decode_bool(s)


def _encode_opt_bool(v: bool | None) -> str:
    return "" if v is None else ("1" if v else "0")


def _decode_tags(s: str) -> list[TagValue]:
    out = []
    for part in s.split(";"):
        if part:
            tag, _, value = part.partition("=")
            out.append(TagValue(tag, value))
    return out


def _encode_tags(v: list[TagValue]) -> str:
    return "".join(f"{tv.tag}={tv.value};" for tv in v)


FLOAT_RAW = Kind("float_raw", decode_float, _encode_float_raw, 0.0, float, inline=_FLOAT_INLINE)
FLOAT_TRIM = Kind("float_trim", decode_float, _encode_float_trim, 0.0, float,
                  inline=_FLOAT_INLINE)
CONJ = Kind("conj", _decode_conj, _encode_conj, True, bool)
OPT_BOOL = Kind("opt_bool", _decode_opt_bool, _encode_opt_bool, None, object)
TAGS = Kind("tags", _decode_tags, _encode_tags, [], list)

OR = "order."
C = "contract."
S = "orderState."


# ---------------------------------------------------------------- predicates


def is_bag(m: Any) -> bool:
    return bool(m.contract.secType == "BAG")


def _has_dn_order(m: Any) -> bool:
    return bool(m.order.deltaNeutralOrderType)


def _has_scale_increment(m: Any) -> bool:
    inc = m.order.scalePriceIncrement
    return bool(inc != UNSET_DOUBLE and inc > 0.0)


def _has_hedge(m: Any) -> bool:
    return bool(m.order.hedgeType)


def _has_algo(m: Any) -> bool:
    return bool(m.order.algoStrategy)


def _is_peg_bench(m: Any) -> bool:
    return m.order.orderType in ("PEG BENCH", "PEGBENCH")


def _has_conditions(m: Any) -> bool:
    return len(m.order.conditions) > 0


def _is_ibkrats(m: Any) -> bool:
    return bool(m.contract.exchange == "IBKRATS")


def _is_peg_best(m: Any) -> bool:
    return m.order.orderType in ("PEG BEST", "PEGBEST")


def _sends_mid_offsets(m: Any) -> bool:
    o = m.order
    if o.orderType in ("PEG MID", "PEGMID"):
        return True
    return _is_peg_best(m) and o.competeAgainstBestOffset == INFINITY


# ---------------------------------------------------------------- shared by all three


def combo_legs(lit: Kind) -> Group:
    """A BAG contract's legs with every field (``lit``: kind of the int fields)."""
    return Group(C + "comboLegs", ComboLeg, (
        F("conId", lit), F("ratio", lit), F("action", STR), F("exchange", STR),
        F("openClose", lit), F("shortSaleSlot", lit), F("designatedLocation", STR),
        F("exemptCode", lit),
    ))


def order_combo_legs() -> tuple[_Item, ...]:
    """Per-leg prices, then the SMART combo routing parameters."""
    return (
        Group(OR + "orderComboLegs", OrderComboLeg, (F("price", FLOAT),)),
        Group(OR + "smartComboRoutingParams", TagValue, (F("tag", STR), F("value", STR))),
    )


def vol_params(lit: Kind, *, clearing: bool) -> tuple[_Item, ...]:
    """Volatility and delta-neutral fields; ``clearing``: with the delta-neutral
    settling firm, clearing account/intent and open/close (not in completedOrder)."""
    dn_conid: list[_Item] = [F(OR + "deltaNeutralConId", lit)]
    dn_rest: list[_Item] = [
        F(OR + "deltaNeutralShortSale", BOOL), F(OR + "deltaNeutralShortSaleSlot", lit),
        F(OR + "deltaNeutralDesignatedLocation", STR),
    ]
    if clearing:
        dn_conid += [
            F(OR + "deltaNeutralSettlingFirm", STR), F(OR + "deltaNeutralClearingAccount", STR),
            F(OR + "deltaNeutralClearingIntent", STR),
        ]
        dn_rest.insert(0, F(OR + "deltaNeutralOpenClose", STR))
    return (
        F(OR + "volatility", FLOAT), F(OR + "volatilityType", INT),
        F(OR + "deltaNeutralOrderType", STR), F(OR + "deltaNeutralAuxPrice", FLOAT),
        When(_has_dn_order, (*dn_conid, *dn_rest)),
        F(OR + "continuousUpdate", BOOL), F(OR + "referencePriceType", INT),
    )


def scale_params(level: Kind) -> tuple[_Item, ...]:
    """Scale order fields (``level``: kind of the two level sizes)."""
    return (
        F(OR + "scaleInitLevelSize", level), F(OR + "scaleSubsLevelSize", level),
        F(OR + "scalePriceIncrement", FLOAT),
        When(_has_scale_increment, (
            F(OR + "scalePriceAdjustValue", FLOAT), F(OR + "scalePriceAdjustInterval", INT),
            F(OR + "scaleProfitOffset", FLOAT), F(OR + "scaleAutoReset", BOOL),
            F(OR + "scaleInitPosition", INT), F(OR + "scaleInitFillQty", INT),
            F(OR + "scaleRandomPercent", BOOL),
        )),
    )


def hedge() -> tuple[_Item, ...]:
    return (F(OR + "hedgeType", STR), When(_has_hedge, (F(OR + "hedgeParam", STR),)))


def delta_neutral_contract(lit: Kind, raw: Kind) -> Flag:
    return Flag(C + "deltaNeutralContract", DeltaNeutralContract,
                (F("conId", lit), F("delta", raw), F("price", raw)))


def algo() -> tuple[_Item, ...]:
    return (
        F(OR + "algoStrategy", STR),
        When(_has_algo, (Group(OR + "algoParams", TagValue, (F("tag", STR), F("value", STR))),)),
    )


def peg_bench(lit: Kind, raw: Kind) -> When:
    """Pegged-to-benchmark fields, sent for PEG BENCH orders only."""
    return When(_is_peg_bench, (
        F(OR + "referenceContractId", lit), F(OR + "isPeggedChangeAmountDecrease", BOOL),
        F(OR + "peggedChangeAmount", raw), F(OR + "referenceChangeAmount", raw),
        F(OR + "referenceExchangeId", STR),
    ))


def conditions(lit: Kind, raw: Kind) -> tuple[_Item, ...]:
    """The order conditions (type id, then the type's fields), and when there are
    any, conditionsIgnoreRth and conditionsCancelOrder."""
    conj = F("isConjunctionConnection", CONJ)
    more = F("isMore", BOOL)
    where = (F("conId", lit), F("exchange", STR))
    return (
        PolyGroup(OR + "conditions", "condType", {
            1: (PriceCondition, (conj, more, F("price", raw), *where, F("triggerMethod", lit))),
            3: (TimeCondition, (conj, more, F("time", STR))),
            4: (MarginCondition, (conj, more, F("percent", lit))),
            5: (ExecutionCondition, (conj, F("secType", STR), F("exchange", STR),
                                     F("symbol", STR))),
            6: (VolumeCondition, (conj, more, F("volume", lit), *where)),
            7: (PercentChangeCondition, (conj, more, F("changePercent", raw), *where)),
        }),
        When(_has_conditions, (
            F(OR + "conditionsIgnoreRth", BOOL), F(OR + "conditionsCancelOrder", BOOL),
        )),
    )


def peg_best_mid(*, place: bool) -> tuple[_Item, ...]:
    """PEG BEST / PEG MID fields (170+): all five in openOrder and completedOrder,
    placeOrder sends each only where it applies."""
    since = V.PEGBEST_PEGMID_OFFSETS
    qty = (F(OR + "minTradeQty", INT),)
    best = (F(OR + "minCompeteSize", INT), F(OR + "competeAgainstBestOffset", FLOAT))
    mid = (F(OR + "midOffsetAtWhole", FLOAT), F(OR + "midOffsetAtHalf", FLOAT))
    if not place:
        return tuple(F(f.path, f.kind, since=since) for f in (*qty, *best, *mid))
    return (
        When(_is_ibkrats, qty, since=since),
        When(_is_peg_best, best, since=since),
        When(_sends_mid_offsets, mid, since=since),
    )


# ---------------------------------------------------------------- openOrder, completedOrder


def order_contract() -> tuple[F, ...]:
    """The contract of an openOrder/completedOrder: no primaryExchange, TWS's strike text."""
    names = ("symbol", "secType", "lastTradeDateOrContractMonth")
    return (
        F(C + "conId", INT), *(F(C + n, STR) for n in names), F(C + "strike", FLOAT_TRIM),
        *(F(C + n, STR) for n in ("right", "multiplier", "exchange", "currency",
                                  "localSymbol", "tradingClass")),
    )


def order_head() -> tuple[F, ...]:
    """action ... orderRef."""
    return (
        F(OR + "action", STR), F(OR + "totalQuantity", DECIMAL), F(OR + "orderType", STR),
        F(OR + "lmtPrice", FLOAT), F(OR + "auxPrice", FLOAT), F(OR + "tif", STR),
        F(OR + "ocaGroup", STR), F(OR + "account", STR), F(OR + "openClose", STR),
        F(OR + "origin", INT), F(OR + "orderRef", STR),
    )


def rth_to_good_after() -> tuple[F, ...]:
    return (
        F(OR + "outsideRth", BOOL), F(OR + "hidden", BOOL),
        F(OR + "discretionaryAmt", FLOAT_TRIM), F(OR + "goodAfterTime", STR),
    )


def fa_to_exempt_code() -> tuple[F, ...]:
    """FA fields (faProfile before 177), model code ... short sale fields."""
    return (
        F(OR + "faGroup", STR), F(OR + "faMethod", STR), F(OR + "faPercentage", STR),
        F(OR + "faProfile", STR, until=V.FA_PROFILE_DESUPPORT), F(OR + "modelCode", STR),
        F(OR + "goodTillDate", STR), F(OR + "rule80A", STR), F(OR + "percentOffset", FLOAT),
        F(OR + "settlingFirm", STR), F(OR + "shortSaleSlot", INT),
        F(OR + "designatedLocation", STR), F(OR + "exemptCode", INT),
    )


def box_to_display_size() -> tuple[F, ...]:
    return (
        F(OR + "startingPrice", FLOAT), F(OR + "stockRefPrice", FLOAT), F(OR + "delta", FLOAT),
        F(OR + "stockRangeLower", FLOAT), F(OR + "stockRangeUpper", FLOAT),
        F(OR + "displaySize", INT_MAX),
    )


def fill_flags() -> tuple[F, ...]:
    """sweepToFill, allOrNone, minQty, ocaType."""
    return (
        F(OR + "sweepToFill", BOOL), F(OR + "allOrNone", BOOL), F(OR + "minQty", INT),
        F(OR + "ocaType", INT),
    )


def combo() -> tuple[_Item, ...]:
    """The combo description and legs (sent for every contract, not only BAG)."""
    return (F(C + "comboLegsDescrip", STR), combo_legs(INT), *order_combo_legs())


def clearing_to_solicited() -> tuple[_Item, ...]:
    return (
        F(OR + "clearingAccount", STR), F(OR + "clearingIntent", STR), F(OR + "notHeld", BOOL),
        delta_neutral_contract(INT, FLOAT), *algo(), F(OR + "solicited", BOOL),
    )


def randomize_to_conditions() -> tuple[_Item, ...]:
    """Randomize flags, PEG BENCH fields, the conditions (their values as Java prints them)."""
    return (
        F(OR + "randomizeSize", BOOL), F(OR + "randomizePrice", BOOL),
        peg_bench(INT, FLOAT), *conditions(INT_MAX, FLOAT_MAX),
    )


def what_if_state() -> tuple[F, ...]:
    """openOrder's order state: what-if margins and commissions, then the warning."""
    margins = [w + s for s in ("Before", "Change", "After")
               for w in ("initMargin", "maintMargin", "equityWithLoan")]
    return (
        F(OR + "whatIf", BOOL), F(S + "status", STR), *(F(S + m, STR) for m in margins),
        F(S + "commission", FLOAT), F(S + "minCommission", FLOAT),
        F(S + "maxCommission", FLOAT), F(S + "commissionCurrency", STR),
        F(S + "warningText", STR),
    )


def hedge_and_oms() -> tuple[F, ...]:
    """cashQty, dontUseAutoPriceForHedge, isOmsContainer."""
    return (
        F(OR + "cashQty", FLOAT_TRIM), F(OR + "dontUseAutoPriceForHedge", BOOL),
        F(OR + "isOmsContainer", BOOL),
    )
