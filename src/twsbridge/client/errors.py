"""Exceptions of the asyncio client, and how TWS's error codes are sorted.

TWS reports every problem, and many things that are not problems, with one
message: error (id 4) carrying ``reqId``, ``errorCode`` and ``errorString``.
The client sorts each one into four kinds (an order's notice is both):

* **notice** - farm-status messages (2104, 2106, 2107, 2108, 2119, 2158), the
  2100-2199 warnings and the few informational codes in :data:`NOTICE_CODES`.
  They never fail anything; they reach handlers, ``TWSClient.notices`` and the
  ``twsbridge.client`` logger (INFO).
* **order error** - an error whose id is an order of this client (order ids
  and request ids come from one sequence, so they never collide): it goes to
  that order's ``Trade.log``; a rejection (not a notice, not a warning of
  ``twsbridge.client.orders.ORDER_WARNING_CODES``, not about a cancel) makes
  ``Trade.done()`` raise it. Order notices (399 …) also reach ``notices``.
* **request error** - a non-notice whose ``reqId`` is a pending request of this
  client: that request fails with :class:`TWSError` (raised from its ``await``
  or from its async iterator).
* **unsolicited error** - any other non-notice (``reqId`` -1 such as 1100
  "Connectivity between IB and TWS has been lost", or an id nobody waits for):
  it reaches handlers, the ``TWSClient.errors`` stream and the logger (WARNING).

Every error frame also reaches handlers registered for ``'error'``.

A few codes are acted on before that sorting: 100 "Max rate of messages per
second has been exceeded" is kept as a notice, slows the client's writer and
fails the request whose message TWS dropped (:mod:`.pacing`); a historical
pacing violation (162, 420) of a paced request sends it once more
(:mod:`.submit`); 1100-1102 mark, resume or send again the subscriptions and
10197 pauses a market data subscription instead of failing it
(:mod:`.resume`).
"""

from __future__ import annotations

__all__ = [
    "CONNECT_FAIL_TEXT",
    "FARM_STATUS_CODES",
    "NOTICE_CODES",
    "ConnectionLost",
    "HandlerError",
    "InterceptError",
    "NotConnected",
    "TWSConnectError",
    "TWSError",
    "TWSTimeoutError",
    "is_notice",
]

#: Farm connection status notices TWS sends after startApi and when farms flap.
FARM_STATUS_CODES = frozenset({2103, 2104, 2105, 2106, 2107, 2108, 2119, 2157, 2158})

#: Codes outside 2100-2199 that are informational: 165 historical data query
#: message, 10167 "Displaying delayed market data", 10090 "Part of requested
#: market data is not subscribed", 1101/1102 connectivity restored, and order
#: warnings that leave the order live (105, 329, 399, 404, 434, 492). Not 321
#: "Error validating request": for a data request it is the only answer.
NOTICE_CODES = frozenset({105, 165, 329, 399, 404, 434, 492, 1101, 1102, 10090, 10167})

#: TWS's text of error 502, which IB's client reports when the socket cannot open.
CONNECT_FAIL_TEXT = (
    "Couldn't connect to TWS. Confirm that \"Enable ActiveX and Socket Clients\" is enabled "
    "and connection port is the same as \"Socket Port\" on the TWS "
    "\"Edit->Global Configuration...->API->Settings\" menu."
)


def is_notice(code: int) -> bool:
    """True for error codes that inform rather than fail (see the module doc)."""
    return code in NOTICE_CODES or 2100 <= code <= 2199


class TWSError(Exception):
    """An error TWS reported (message id 4), or one the client reports in TWS's terms.

    Attributes:
        code: TWS's error code (``errorCode``), e.g. 200 "No security definition".
        message: TWS's text (``errorString``), unchanged.
        reqId: the request id the error belongs to, -1 when none.
        advancedOrderRejectJson: the JSON of an order rejection ("" when none;
            TWS sends it from server version 166).

    ``str(err)`` reads ``TWS error 200 (reqId 5): No security definition has
    been found for the request`` (no ``(reqId …)`` part when ``reqId`` is -1).
    """

    def __init__(
        self, code: int, message: str, reqId: int = -1, advancedOrderRejectJson: str = ""
    ) -> None:
        super().__init__(code, message, reqId, advancedOrderRejectJson)
        self.code = code
        self.message = message
        self.reqId = reqId
        self.advancedOrderRejectJson = advancedOrderRejectJson

    @property
    def is_notice(self) -> bool:
        """True when the code is informational (:func:`is_notice`)."""
        return is_notice(self.code)

    def __str__(self) -> str:
        where = f" (reqId {self.reqId})" if self.reqId != -1 else ""
        return f"TWS error {self.code}{where}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, reqId={self.reqId}, {self.message!r})"


class TWSConnectError(TWSError, ConnectionError):
    """The socket to TWS could not be opened: error 502 with TWS's own text.

    Attributes ``host`` and ``port`` name the address tried; the operating
    system's error is chained as ``__cause__``.
    """

    def __init__(self, host: str, port: int, code: int = 502, message: str = CONNECT_FAIL_TEXT):
        super().__init__(code, message)
        self.host = host
        self.port = port

    def __str__(self) -> str:
        where = f"{self.host}:{self.port}" if self.port else self.host  # 0: a connector's peer
        return f"{super().__str__()} (connecting to {where})"


class ConnectionLost(ConnectionError):
    """The connection to TWS ended while something was waiting on it.

    Raised at once from every pending request and every live subscription
    iterator when the socket drops (TWS closed it, the network failed) or when
    ``disconnect()`` is called while a request waits. The message says which.
    """


class NotConnected(ConnectionError):
    """An API call on a client that is not connected (never, or no longer)."""


class TWSTimeoutError(TimeoutError):
    """TWS did not complete the connection (handshake, nextValidId and
    managedAccounts) within the client's ``timeout``. A subclass of
    ``TimeoutError``, which is ``asyncio.TimeoutError``."""


class HandlerError(Exception):
    """A registered handler raised while the client dispatched a message.

    The reader keeps running; the handler's exception is logged at once and
    raised, chained as ``__cause__``, from the next API call of the client
    (or from ``disconnect()``/leaving ``async with`` when no other exception
    is in flight).

    Attributes:
        handler: the callable that raised.
        msg: the message it was given (a ``Message`` or ``Unknown``).
        more: how many further handler errors were pending (they are logged).
    """

    def __init__(self, handler: object, msg: object, more: int = 0) -> None:
        name = getattr(handler, "__qualname__", repr(handler))
        text = f"handler {name} raised on {msg!r}"
        if more:
            text += f" (and {more} more handler error(s), see the log)"
        super().__init__(text)
        self.handler = handler
        self.msg = msg
        self.more = more


class InterceptError(HandlerError):
    """An intercept hook (``TWSClient.intercept``) raised, or its coroutine did.

    Hooks journal messages before the client acts on them, so the client does
    not go on without the journal: the connection is closed, ``close_reason``
    is this error, and waiting requests, ``Trade.done()`` and iterators fail
    with it. The hook's exception is chained as ``__cause__``.
    """
