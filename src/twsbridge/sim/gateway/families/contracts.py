"""The contract family: reqContractDetails and reqMatchingSymbols (ids 9, 81).

Resolution as TWS: every instrument a partial contract designates is answered
(``contractDetails`` per match, then ``contractDetailsEnd``); none is error 200.
"""

from __future__ import annotations

from twsbridge.protocol.catalogue import incoming, outgoing
from twsbridge.sim.gateway.families.base import Family, handles
from twsbridge.sim.reference.details import (
    NO_SECURITY_DEFINITION,
    contract_description,
    contract_details,
    resolve,
)

__all__ = ["Contracts"]


class Contracts(Family):
    """reqContractDetails and reqMatchingSymbols."""

    @handles(outgoing.ReqContractDetails)
    def req_contract_details(self, msg: outgoing.ReqContractDetails) -> None:
        ctx = self.ctx
        insts = resolve(ctx.sim.book, msg.contract)
        if not insts:
            ctx.error(msg.reqId, 200, NO_SECURITY_DEFINITION)
            return
        today = ctx.now().date()
        ctx.emit([incoming.ContractData(
            reqId=msg.reqId, contractDetails=contract_details(i, today, msg.contract.exchange))
            for i in insts])
        ctx.emit([incoming.ContractDataEnd(reqId=msg.reqId)])

    @handles(outgoing.ReqMatchingSymbols)
    def req_matching_symbols(self, msg: outgoing.ReqMatchingSymbols) -> None:
        found = self.ctx.sim.book.search(msg.pattern, 16)
        self.ctx.emit([incoming.SymbolSamples(
            reqId=msg.reqId, contractDescriptions=[contract_description(i) for i in found])])
