"""Contract look-ups: ``reqContractDetails`` and ``reqMatchingSymbols``."""

from __future__ import annotations

from twsbridge.client import TWSClient
from twsbridge.protocol import Contract

from ..market_cache import market_cache
from ..problems import ProblemError
from ..routes.common import describe
from ..schemas import ContractDescriptionPublic, ContractDetailsPublic

__all__ = ["contract_by_conid", "contract_details", "search_contracts"]


async def search_contracts(ib: TWSClient, pattern: str) -> list[ContractDescriptionPublic]:
    """``reqMatchingSymbols``: contracts whose symbol or name starts with ``pattern``."""
    found = await ib.reqMatchingSymbols(pattern)
    return [ContractDescriptionPublic.from_tws(d) for d in found]


async def contract_details(ib: TWSClient, contract: Contract) -> list[ContractDetailsPublic]:
    """Every contract matching ``contract`` (cached: :mod:`..market_cache`); 404 problem
    (TWS code 200) when none."""
    details = await market_cache(ib).contract_details(ib, contract)
    if not details:
        raise ProblemError(
            "contract-not-found", f"no contract matches {describe(contract)}", code=200
        )
    return [ContractDetailsPublic.from_tws(d) for d in details]


async def contract_by_conid(ib: TWSClient, conId: int) -> ContractDetailsPublic:
    """The details of contract ``conId`` (cached); 404 problem (code 200) when TWS knows
    none."""
    details = await market_cache(ib).contract_details(ib, Contract(conId=conId))
    if not details:
        raise ProblemError("contract-not-found", f"no contract has conId {conId}", code=200)
    return ContractDetailsPublic.from_tws(details[0])

