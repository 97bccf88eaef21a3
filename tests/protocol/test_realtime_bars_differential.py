"""reqRealTimeBars and cancelRealTimeBars against IB's client, byte for byte (see
:mod:`.test_orders_oracle`)."""

from __future__ import annotations

import pytest

from twsbridge.protocol.catalogue import outgoing as O

from .cases import AAPL, SPY_C
from .test_orders_differential import check
from .test_orders_oracle import to_ib

pytest.importorskip("ibapi")

VERSIONS = (157, 170, 178)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("contract", [AAPL, SPY_C], ids=["AAPL", "SPY-C"])
@pytest.mark.parametrize(("what", "rth"), [("TRADES", True), ("MIDPOINT", False)])
def test_req_real_time_bars_is_ibapis(version: int, contract: object, what: str,
                                      rth: bool) -> None:
    msg = O.ReqRealTimeBars(reqId=7, contract=contract, barSize=5,  # type: ignore[arg-type]
                            whatToShow=what, useRTH=rth)
    check(msg, version,
          lambda c: c.reqRealTimeBars(7, to_ib(contract), 5, what, rth, []))


@pytest.mark.parametrize("version", VERSIONS)
def test_cancel_real_time_bars_is_ibapis(version: int) -> None:
    check(O.CancelRealTimeBars(reqId=7), version, lambda c: c.cancelRealTimeBars(7))

