"""Golden vectors: a real TWS session (server version 176), frame by frame.

The recording lives in the shared data folder beside the repository
(``../shared/data/tws-recording-v176.json``, see its README); it is read in
place, never copied into the repository.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from twsbridge.protocol import (
    IN,
    UNSET_DOUBLE,
    UNSET_INTEGER,
    ClientConnection,
    ServerHello,
    State,
    Unknown,
    decode_message,
    encode_frame,
    encode_message,
    registry,
)
from twsbridge.protocol.catalogue import incoming as I
from twsbridge.protocol.spec import Message

RECORDING = Path(__file__).parents[2].parent / "shared/data/tws-recording-v176.json"
VERSION = 176

pytestmark = pytest.mark.skipif(
    not RECORDING.exists(), reason=f"TWS recording not found at {RECORDING} (shared data absent)"
)


def _load() -> dict[str, list[bytes]]:
    if not RECORDING.exists():
        return {}
    raw: dict[str, list[str]] = json.loads(RECORDING.read_text())
    return {key: [base64.b64decode(b) for b in frames] for key, frames in raw.items()}


SESSION = _load()
FRAMES = [
    pytest.param(key, n, frame, id=f"{key}#{n}")
    for key, frames in SESSION.items()
    if key != "API_"
    for n, frame in enumerate(frames)
]


def payload(frame: bytes) -> bytes:
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    return frame[4:]


def decoded(key: str) -> list[Message | Unknown]:
    return [decode_message(payload(f), VERSION, IN) for f in SESSION[key]]


def test_recording_has_the_documented_requests() -> None:
    assert set(SESSION) == {
        "API_", "71_2", "61_1", "5_1", "99_0", "6_2", "76_1", "7_3", "3_219", "3_220", "62_1",
    }
    assert sum(len(v) for v in SESSION.values()) == 498


@pytest.mark.parametrize(("key", "n", "frame"), FRAMES)
def test_every_frame_decodes_and_reencodes_identically(key: str, n: int, frame: bytes) -> None:
    msg = decode_message(payload(frame), VERSION, IN)
    msg_id = int(payload(frame).split(b"\0", 1)[0])
    if msg_id in registry(IN):
        assert type(msg) is registry(IN)[msg_id]
    else:
        assert isinstance(msg, Unknown)
    assert encode_message(msg, VERSION) == frame


def test_open_orders_decode_and_reencode_to_the_same_bytes() -> None:
    for key in ("3_219", "3_220"):
        frame = SESSION[key][-1]
        msg = decode_message(payload(frame), VERSION, IN)
        assert isinstance(msg, I.OpenOrder)
        assert encode_message(msg, VERSION) == frame
        assert msg.orderId == 219
        c = msg.contract
        assert (c.conId, c.symbol, c.secType, c.exchange, c.currency, c.localSymbol) == (
            12087792, "EUR", "CASH", "IDEALPRO", "USD", "EUR.USD")
        assert (c.strike, c.right) == (0.0, "?")
        o = msg.order
        assert (o.action, o.totalQuantity, o.orderType) == ("BUY", Decimal(100), "MKT")
        assert o.tif == "DAY"
        assert (o.lmtPrice, o.auxPrice, o.account, o.permId) == (0.0, 0.0, "DU5509097", 665616366)
        assert o.whatIf and o.ocaType == 3 and o.clearingIntent == "IB"
        assert o.deltaNeutralOrderType == "None" and o.deltaNeutralOpenClose == "?"
        assert o.adjustedOrderType == "None" and o.dontUseAutoPriceForHedge
        assert o.displaySize == UNSET_INTEGER and o.scaleInitLevelSize == UNSET_INTEGER
        assert o.usePriceMgmtAlgo is False and o.cashQty == 0.0
        assert msg.sharesAllocation == "665616366.0/DU5509097/100"
        assert msg.orderState.status == "PreSubmitted"
    what_if = decode_message(payload(SESSION["3_219"][0]), VERSION, IN)
    assert isinstance(what_if, I.OpenOrder)
    assert what_if.orderState.initMarginBefore == "1.7976931348623157E308"
    assert what_if.orderState.commission == UNSET_DOUBLE
    assert what_if.orderState.warningText.startswith("Important Note: Your order size")
    preview = decode_message(payload(SESSION["3_220"][-1]), VERSION, IN)
    assert isinstance(preview, I.OpenOrder)
    state = preview.orderState
    assert (state.equityWithLoanBefore, state.initMarginChange) == ("1038472.36", "2.61")
    assert (state.minCommission, state.maxCommission) == (1.64424, 2.0553)
    assert state.commissionCurrency == "GBP"


def test_start_api_answers() -> None:
    msgs = decoded("71_2")
    assert msgs[0] == I.ManagedAccounts(accountsList="DU5509097")
    assert msgs[1] == I.NextValidId(orderId=217)
    errors = msgs[2:]
    assert len(errors) == 6
    assert all(isinstance(e, I.ErrorMessage) and e.reqId == -1 for e in errors)
    assert [e.errorCode for e in errors] == [2104, 2104, 2106, 2106, 2106, 2158]  # type: ignore[union-attr]
    assert errors[0] == I.ErrorMessage(
        reqId=-1, errorCode=2104,
        errorString="Market data farm connection is OK:usfarm.nj", advancedOrderRejectJson="",
    )


def test_account_updates() -> None:
    msgs = decoded("6_2")
    kinds = Counter(type(m) for m in msgs)
    assert kinds == {I.UpdateAccountValue: 153, I.UpdateAccountTime: 1, I.AccountDownloadEnd: 1}
    values = [m for m in msgs if isinstance(m, I.UpdateAccountValue)]
    assert all(v.accountName == "DU5509097" for v in values)
    first = values[0]
    assert (first.key, first.val, first.currency) == ("AccountCode", "DU5509097", "")
    cash = {(v.key, v.currency): v.val for v in values}
    assert cash[("AccruedCash", "BASE")] == "2520.25"
    assert cash[("CashBalance", "GBP")] == "1038472.36"
    assert msgs[-2] == I.UpdateAccountTime(timeStamp="13:26")
    assert msgs[-1] == I.AccountDownloadEnd(accountName="DU5509097")


def test_account_updates_multi() -> None:
    msgs = decoded("76_1")
    assert Counter(type(m) for m in msgs) == {I.AccountUpdateMulti: 156,
                                              I.AccountUpdateMultiEnd: 1}
    assert isinstance(msgs[-1], I.AccountUpdateMultiEnd)
    req_ids = {m.reqId for m in msgs}  # type: ignore[union-attr]
    assert len(req_ids) == 1


def test_account_summary_interleaved() -> None:
    msgs = decoded("62_1")
    assert Counter(type(m) for m in msgs) == {
        I.AccountSummary: 80, I.AccountSummaryEnd: 1, I.AccountUpdateMulti: 80,
        I.AccountUpdateMultiEnd: 1, I.UpdateAccountTime: 8,
    }
    assert msgs[-1] == I.AccountSummaryEnd(reqId=221)
    summaries = [m for m in msgs if isinstance(m, I.AccountSummary)]
    assert {s.reqId for s in summaries} == {221}
    assert {s.account for s in summaries} == {"DU5509097", "All"}
    assert summaries[0] == I.AccountSummary(reqId=221, account="DU5509097", tag="AccountType",
                                            value="PARTNERSHIP", currency="")


def test_small_answers() -> None:
    assert decoded("61_1") == [I.PositionEnd()]
    assert decoded("5_1") == [I.OpenOrderEnd()]
    assert decoded("99_0") == [I.CompletedOrdersEnd()]
    assert decoded("7_3") == [I.ExecDetailsEnd(reqId=218)]


def test_order_error_321() -> None:
    err = decoded("3_220")[0]
    assert err == I.ErrorMessage(
        reqId=220, errorCode=321,
        errorString="Error validating request.-'bN' : cause - Missing order exchange.",
    )


def test_server_hello_through_a_client_connection() -> None:
    conn = ClientConnection()
    hello = conn.hello()
    assert hello == b"API\0" + encode_frame(b"v157..178")
    (frame,) = SESSION["API_"]
    conn.receive_data(frame)
    assert list(conn.events()) == [ServerHello(176, "20231021 13:28:15 EST")]
    assert conn.state is State.CONNECTED
    assert conn.server_version == 176
    assert conn.capabilities is not None
    assert conn.capabilities.connection_time == "20231021 13:28:15 EST"
    assert conn.capabilities.advanced_order_reject and conn.capabilities.size_rules
    conn.start_api(client_id=1)
    # the whole session, in one stream, 7 bytes at a time
    stream = b"".join(f for k, fs in SESSION.items() if k != "API_" for f in fs)
    events = []
    for k in range(0, len(stream), 7):
        conn.receive_data(stream[k : k + 7])
        events.extend(conn.events())
    assert len(events) == 497
    assert events[0] == I.ManagedAccounts(accountsList="DU5509097")
    assert events[-1] == I.AccountSummaryEnd(reqId=221)
    assert not any(isinstance(e, Unknown) for e in events)
    assert sum(isinstance(e, I.OpenOrder) for e in events) == 2
    assert [e.orderId for e in events if isinstance(e, I.NextValidId)] == [217]
    balance = [e for e in events if isinstance(e, I.UpdateAccountValue) and e.key == "CashBalance"]
    assert Decimal(balance[0].val) == Decimal("1038472.36")
