"""Contract look-ups: ``reqContractDetails`` and ``reqMatchingSymbols``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ..gateway import ClientDep
from ..operations import contracts as ops
from ..problems import problem_responses
from ..schemas import (
    TWS_INT_MAX,
    TWS_INT_MIN,
    ContractDescriptionPublic,
    ContractDetailsPublic,
)
from .common import ContractQueryDep

__all__ = ["router"]

router = APIRouter(prefix="/contracts", tags=["contracts"])


@router.get(
    "",
    summary="Contract details matching a description",
    responses=problem_responses(400, 404, 422, 503, 504),
)
async def list_contracts(ib: ClientDep, query: ContractQueryDep) -> list[ContractDetailsPublic]:
    """All contracts matching ``symbol`` (and secType, exchange, currency, primaryExchange).

    ``GET /contracts?symbol=AMD`` answers AMD's details (conId 4391). No match
    is a 404 problem with TWS's code 200.
    """
    return await ops.contract_details(ib, query.to_contract())


@router.get(
    "/search",
    summary="Symbols matching a pattern",
    responses=problem_responses(400, 422, 503, 504),
)
async def search_contracts(
    ib: ClientDep,
    pattern: Annotated[
        str, Query(min_length=1, description="Start of a symbol or company name, e.g. 'intc'.")
    ],
) -> list[ContractDescriptionPublic]:
    """``reqMatchingSymbols``: contracts whose symbol or name matches ``pattern``."""
    return await ops.search_contracts(ib, pattern)


@router.get(
    "/{conId}",
    summary="Contract details of one conId",
    responses=problem_responses(400, 404, 422, 503, 504),
)
async def get_contract(
    ib: ClientDep,
    conId: Annotated[int, Path(description="IB contract id, e.g. 4391 for AMD.",
                               ge=TWS_INT_MIN, le=TWS_INT_MAX)],
) -> ContractDetailsPublic:
    """The details of contract ``conId``; 404 problem (code 200) when TWS knows none."""
    return await ops.contract_by_conid(ib, conId)
