"""Submitting requests: route, then send at once or when the historical pacing allows.

:class:`Submitter` is the last step of every request of a client: the request
is routed first (so a dropped connection fails it at once, even while it waits
for its turn), then its message goes to the transport, at once, or, for a
historical request under the pacing rules (:mod:`.pacing`), from a task that
waits for its slot. A request the caller stops waiting for leaves the queue
(no cancel is sent for a request TWS never got). A pacing violation TWS
reports anyway (162, 420) sends the request once more, with a new reqId,
after the wait the rules ask.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from twsbridge.protocol import Message

from .connection import Transport
from .errors import TWSError
from .ids import IdAllocator
from .pacing import Pacing
from .requests import Request, Router

__all__ = ["Submitter"]

log = logging.getLogger("twsbridge.client")


class Submitter:
    """Routes and sends the requests of one client.

    Args:
        router: returns the current connection's router.
        ids: the client's id sequence (a retry's new reqId).
        pacing: the client's pacing state.
    """

    def __init__(self, router: Callable[[], Router], ids: IdAllocator, pacing: Pacing) -> None:
        self._router = router
        self._ids = ids
        self._pacing = pacing
        self._paced: dict[Request[Any], asyncio.Task[None]] = {}

    def submit(self, req: Request[Any], msg: Message, transport: Transport,
               delay: float = 0.0) -> None:
        """Route answers to ``req`` and send ``msg`` on ``transport`` (after
        ``delay`` seconds and the pacing slot, for a paced request).

        Raises:
            ConnectionLost: the connection ended (an unpaced request).
            ProtocolError: ``msg`` cannot be encoded (an unpaced request; a
                paced one fails with it).
        """
        router = self._router()
        req.bind(transport.send, self.detach)
        router.add(req)
        if (req.pace is None or self._pacing.historical is None) and not delay:
            try:
                transport.send(msg)
            except BaseException:
                router.discard(req)
                raise
            req.sent = True
            return
        task = asyncio.get_running_loop().create_task(
            self._paced_send(req, msg, transport, delay), name=f"twsbridge-paced-{req.reqId}")
        self._paced[req] = task
        task.add_done_callback(lambda t: self._paced.pop(req, None)
                               if self._paced.get(req) is t else None)

    def detach(self, req: Request[Any]) -> None:
        """Stop routing to ``req``; a paced request leaves the queue."""
        self._router().discard(req)
        task = self._paced.pop(req, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def connection_ended(self) -> None:
        """The connection ended: queued requests are not sent on it."""
        for task in list(self._paced.values()):
            task.cancel()
        self._paced.clear()
        if self._pacing.historical is not None:
            self._pacing.historical.forget_unsent()

    async def _paced_send(self, req: Request[Any], msg: Message, transport: Transport,
                          delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        pacer = self._pacing.historical
        record = None
        if pacer is not None and req.pace is not None:
            try:
                record = await pacer.acquire(req.pace)
            except Exception as exc:  # on_wait raised: the caller gets it
                self._router().discard(req)
                req.fail(exc)
                return
        if req.done or transport.closed:
            if record is not None and pacer is not None:
                pacer.release(record)
            return
        on_sent = None if record is None or pacer is None else (lambda: pacer.sent(record))
        req.pace_record = record
        try:
            transport.send(msg, on_sent)
        except Exception as exc:  # the connection ended, or msg cannot be encoded
            if record is not None and pacer is not None:
                pacer.release(record)
            self._router().discard(req)
            req.fail(exc)
            return
        req.sent = True

    def retry(self, err: TWSError, transport: Transport) -> bool:
        """A pacing violation of a paced request not retried yet: send it again
        (new reqId) after the wait the rules ask; True when it is retried."""
        router = self._router()
        req = router.get(err.reqId)
        pacer = self._pacing.historical
        if req is None or req.pace is None or req.retried or req.renewer is None \
                or pacer is None:
            return False
        router.discard(req)
        req.retried = True
        if req.pace_record is not None:
            pacer.release(req.pace_record)  # TWS does not count a refused request
        wait = pacer.retry_delay(req.pace)
        msg = req.renew(self._ids.next())
        log.warning("%s (reqId %d): TWS reports a pacing violation (%d); sending it again "
                    "in %.1f s as reqId %s", req.name, err.reqId, err.code, wait, req.reqId)
        self.submit(req, msg, transport, delay=max(wait, 1e-3))
        return True
