"""Query parameters describing a contract, and resolving them to one contract."""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated

from fastapi import Depends, Query

from twsbridge.client import TWSClient
from twsbridge.protocol import Contract, ContractDetails

from ..market_cache import market_cache
from ..problems import ProblemError
from ..schemas import TWS_INT_MAX, TWS_INT_MIN, ContractPublic

__all__ = [
    "ContractQuery",
    "ContractQueryDep",
    "describe",
    "market_contract",
    "resolve_contract",
]

_FX_PAIR = re.compile(r"^([A-Za-z]{3})\.([A-Za-z]{3})$")


class ContractQuery:
    """``symbol`` (with secType, exchange, currency, primaryExchange) or ``conId``.

    Defaults as TWS users expect: ``secType=STK``, ``exchange=SMART`` (``IDEALPRO``
    for ``CASH``), ``currency=USD`` (any currency for ``CASH``). A forex pair may
    be written ``EUR.USD`` with ``secType=CASH``. A ``conId`` alone identifies a contract; then no
    defaults are added.
    """

    def __init__(
        self,
        symbol: Annotated[
            str | None, Query(description="Ticker symbol, e.g. AAPL (or EUR.USD with CASH).")
        ] = None,
        conId: Annotated[int | None, Query(description="IB contract id, e.g. 265598.",
                                           ge=TWS_INT_MIN, le=TWS_INT_MAX)] = None,
        secType: Annotated[str | None, Query(description="STK (default), CASH, IND ...")] = None,
        exchange: Annotated[
            str | None, Query(description="SMART (default; IDEALPRO for CASH), ISLAND ...")
        ] = None,
        currency: Annotated[
            str | None, Query(description="USD (default; any for CASH) ...")
        ] = None,
        primaryExchange: Annotated[
            str | None, Query(description="Listing exchange, e.g. NASDAQ.")
        ] = None,
    ) -> None:
        self.symbol = symbol.strip() if symbol and symbol.strip() else None
        self.conId = conId
        self.secType = secType
        self.exchange = exchange
        self.currency = currency
        self.primaryExchange = primaryExchange

    def to_contract(self) -> Contract:
        """The TWS contract this query describes; 422 problem when neither symbol nor conId."""
        if self.symbol is None and self.conId is None:
            raise ProblemError("validation-error", "give symbol or conId")
        if self.symbol is None:
            return Contract(
                conId=self.conId or 0,
                secType=(self.secType or "").upper(),
                exchange=(self.exchange or "").upper(),
                currency=(self.currency or "").upper(),
                primaryExchange=(self.primaryExchange or "").upper(),
            )
        sec_type = (self.secType or "STK").upper()
        symbol = self.symbol.upper()
        currency = self.currency
        pair = _FX_PAIR.match(symbol)
        if sec_type == "CASH" and pair:
            symbol, currency = pair.group(1), currency or pair.group(2)
        default_exchange = "IDEALPRO" if sec_type == "CASH" else "SMART"
        return Contract(
            conId=self.conId or 0,
            symbol=symbol,
            secType=sec_type,
            exchange=(self.exchange or default_exchange).upper(),
            currency=(currency or ("" if sec_type == "CASH" else "USD")).upper(),
            primaryExchange=(self.primaryExchange or "").upper(),
        )


ContractQueryDep = Annotated[ContractQuery, Depends()]


def describe(contract: Contract) -> str:
    """Short human text for a contract query (problem details)."""
    if contract.symbol:
        parts = [contract.symbol, contract.secType, contract.exchange, contract.currency]
        return " ".join(p for p in parts if p)
    return f"conId {contract.conId}"


async def resolve_contract(ib: TWSClient, contract: Contract) -> ContractDetails:
    """Exactly one contract for ``contract`` (``reqContractDetails``, message 9): 404 when
    none, 409 listing candidates if many.

    Resolutions are cached and identical concurrent ones coalesced
    (:meth:`~twsbridge.service.market_cache.MarketCache.contract_details`): a contract
    already resolved costs no TWS message.

    Raises:
        ProblemError: ``contract-not-found`` (404), ``ambiguous-contract`` (409).
        TWSError: TWS refused the look-up (200 for an unknown contract: a 404 too).
    """
    details = await market_cache(ib).contract_details(ib, contract)
    if not details:
        raise ProblemError("contract-not-found", f"no contract matches {describe(contract)}")
    if len({d.contract.conId for d in details}) > 1:
        raise ProblemError(
            "ambiguous-contract",
            f"{len(details)} contracts match {describe(contract)}; "
            "narrow it down with conId, exchange, primaryExchange or currency",
            candidates=[ContractPublic.from_tws(d.contract).model_dump() for d in details],
        )
    return details[0]


def market_contract(details: ContractDetails) -> Contract:
    """The contract to request market data / bars for: routable exchange filled in."""
    c = details.contract
    if c.exchange:
        return c
    return dataclasses.replace(c, exchange=c.primaryExchange or "SMART")
