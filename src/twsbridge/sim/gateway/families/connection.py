"""The connection family: startApi, reqIds, reqCurrentTime (ids 71, 8, 49).

startApi answers as TWS does after the handshake (recording v176): the open
orders of an auto-bound/master client, ``managedAccounts``, ``nextValidId`` and
the farm notices 2104/2106/2158; 326 for a client id in use, 321 for a second
startApi; a connection beyond the server's client slots is closed.
"""

from __future__ import annotations

import logging

from twsbridge.protocol.catalogue import incoming, outgoing
from twsbridge.sim.gateway.families.base import Family, handles

__all__ = ["CLIENT_ID_IN_USE", "FARM_NOTICES", "Connection"]

log = logging.getLogger("twsbridge.sim")

#: Notices TWS sends after startApi (error frames with reqId -1).
FARM_NOTICES: tuple[tuple[int, str], ...] = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)
CLIENT_ID_IN_USE = (326, "Unable to connect as the client id is already in use. "
                         "Retry with a unique client id.")


class Connection(Family):
    """startApi, reqIds and reqCurrentTime."""

    @handles(outgoing.StartApi)
    def start_api(self, msg: outgoing.StartApi) -> None:
        ctx = self.ctx
        if ctx.client_id is not None:
            ctx.error(-1, 321, "Error validating request.-'71' : cause - "
                               "startApi was already received")
            return
        if not ctx.slot_free():
            ctx.close(f"no API client slot free for client id {msg.clientId}")
            return
        if not ctx.sim.claim_client_id(msg.clientId, ctx):
            code, text = CLIENT_ID_IN_USE
            ctx.error(-1, code, text)
            ctx.close(f"client id {msg.clientId} already in use")
            return
        ctx.accept_client(msg.clientId)
        ctx.orders.attach(msg.clientId)
        ctx.emit(ctx.orders.connect_orders())
        ctx.emit([
            incoming.ManagedAccounts(accountsList=ctx.sim.account.code),
            incoming.NextValidId(orderId=ctx.sim.next_order_id),
        ])
        for code, text in FARM_NOTICES:
            ctx.error(-1, code, text)
        ctx.guard.connect_notices()

    @handles(outgoing.ReqIds)
    def req_ids(self, msg: outgoing.ReqIds) -> None:
        self.ctx.emit([incoming.NextValidId(orderId=self.ctx.sim.next_order_id)])

    @handles(outgoing.ReqCurrentTime)
    def req_current_time(self, msg: outgoing.ReqCurrentTime) -> None:
        self.ctx.emit([incoming.CurrentTime(time=self.ctx.sim.clock.epoch())])
