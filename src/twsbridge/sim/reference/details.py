"""Contracts of the simulator: request resolution and TWS's contract shapes.

Turns the :class:`~twsbridge.sim.reference.instruments.Instrument` records into what the
wire carries: :class:`~twsbridge.protocol.models.Contract`,
:class:`~twsbridge.protocol.models.ContractDetails` (contractDetails, id 10)
and :class:`~twsbridge.protocol.models.ContractDescription` (symbolSamples, id
79), and resolves the (possibly incomplete) contract of a request.
"""

from __future__ import annotations

import datetime as dt

from twsbridge.protocol.models import Contract, ContractDescription, ContractDetails, TagValue
from twsbridge.sim.reference.calendar import trading_hours
from twsbridge.sim.reference.instruments import Instrument, InstrumentBook

__all__ = [
    "NO_SECURITY_DEFINITION",
    "contract_description",
    "contract_details",
    "instrument_contract",
    "resolve",
]

#: TWS's text of error 200 for a contract that matches nothing.
NO_SECURITY_DEFINITION = "No security definition has been found for the request"


def resolve(book: InstrumentBook, contract: Contract) -> list[Instrument]:
    """Instruments a request's contract designates (several when ambiguous).

    A conId alone is enough; otherwise symbol or localSymbol with optional
    secType, exchange, primaryExchange, currency and, for derivatives,
    lastTradeDateOrContractMonth, strike, right, multiplier and tradingClass
    (as TWS matches them, see ``InstrumentBook.match``), or
    ``secIdType``/``secId`` (ISIN, CUSIP...) without a symbol.
    """
    if not contract.conId and not contract.symbol and not contract.localSymbol:
        if contract.secIdType and contract.secId:
            kind, ident = contract.secIdType.upper(), contract.secId.upper()
            return [i for i in book if (kind, ident) in
                    {(k.upper(), v.upper()) for k, v in i.secIdList}]
        return []
    return book.match(
        symbol=contract.symbol,
        secType=contract.secType,
        exchange=contract.exchange,
        primaryExchange=contract.primaryExchange,
        currency=contract.currency,
        localSymbol=contract.localSymbol,
        conId=contract.conId,
        lastTradeDateOrContractMonth=contract.lastTradeDateOrContractMonth,
        strike=contract.strike if 0 < contract.strike < 1e300 else 0.0,
        right=contract.right,
        multiplier=contract.multiplier,
        tradingClass=contract.tradingClass,
    )


def _exchange(inst: Instrument, requested: str) -> str:
    """The exchange TWS echoes: the requested one when given, else the default."""
    ex = requested.upper()
    if not ex or ex == "IDEAL":
        return inst.exchange
    return ex


def instrument_contract(inst: Instrument, exchange: str = "") -> Contract:
    """The fully qualified Contract of ``inst`` (exchange as requested or default)."""
    return Contract(
        conId=inst.conId,
        symbol=inst.symbol,
        secType=inst.secType,
        lastTradeDateOrContractMonth=inst.lastTradeDateOrContractMonth,
        strike=inst.strike,
        right=inst.right,
        multiplier=inst.multiplier,
        exchange=_exchange(inst, exchange),
        primaryExchange=inst.primaryExchange,
        currency=inst.currency,
        localSymbol=inst.localSymbol,
        tradingClass=inst.tradingClass,
        description=inst.description,
    )


def _wire_last_trade(inst: Instrument) -> str:
    """contractDetails' lastTradeDateOrContractMonth: TWS appends the last
    trade time and time zone (``20261218 08:30:00 US/Central``) for contracts
    that have one; ibapi and ib_async split it into the date and
    ``lastTradeTime`` (ContractDetails has no field of its own for it)."""
    date = inst.lastTradeDateOrContractMonth
    if date and inst.lastTradeTime:
        return f"{date} {inst.lastTradeTime} {inst.timeZoneId}"
    return date


def contract_details(inst: Instrument, day: dt.date, exchange: str = "") -> ContractDetails:
    """contractDetails (id 10) content of ``inst``; trading and liquid hours
    start at ``day`` (the simulated today) and cover a week.

    Derivatives carry their underlying (``underConId``, ``underSymbol``,
    ``underSecType``), ``contractMonth``, ``realExpirationDate`` and, in the
    contract's lastTradeDateOrContractMonth, the last trade time (see
    :func:`_wire_last_trade`)."""
    contract = instrument_contract(inst, exchange)
    contract.lastTradeDateOrContractMonth = _wire_last_trade(inst)
    return ContractDetails(
        contract=contract,
        marketName=inst.marketName,
        minTick=inst.minTick,
        orderTypes=inst.orderTypes,
        validExchanges=inst.validExchanges,
        priceMagnifier=inst.priceMagnifier,
        underConId=inst.underConId,
        longName=inst.longName,
        contractMonth=inst.contractMonth,
        industry=inst.industry,
        category=inst.category,
        subcategory=inst.subcategory,
        timeZoneId=inst.timeZoneId,
        tradingHours=trading_hours(inst, day, False),
        liquidHours=trading_hours(inst, day, True),
        evRule=inst.evRule,
        evMultiplier=inst.evMultiplier,
        secIdList=[TagValue(k, v) for k, v in inst.secIdList],
        aggGroup=inst.aggGroup,
        underSymbol=inst.underSymbol,
        underSecType=inst.underSecType,
        marketRuleIds=inst.marketRuleIds,
        realExpirationDate=inst.realExpirationDate,
        stockType=inst.stockType,
        minSize=inst.minSize,
        sizeIncrement=inst.sizeIncrement,
        suggestedSizeIncrement=inst.suggestedSizeIncrement,
    )


def contract_description(inst: Instrument) -> ContractDescription:
    """symbolSamples (id 79) entry of ``inst``."""
    return ContractDescription(
        contract=Contract(
            conId=inst.conId,
            symbol=inst.symbol,
            secType=inst.secType,
            primaryExchange=inst.primaryExchange or inst.exchange,
            currency=inst.currency,
            description=inst.description or inst.longName,
        ),
        derivativeSecTypes=list(inst.derivativeSecTypes),
    )
