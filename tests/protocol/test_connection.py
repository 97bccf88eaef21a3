"""Client and server connections wired together with no socket (h11 style)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twsbridge.protocol import (
    IN,
    OUT,
    ClientConnection,
    ClientHello,
    ConnectionClosed,
    Event,
    ProtocolError,
    ServerConnection,
    ServerHello,
    State,
    Unknown,
    decode_message,
    encode_frame,
    negotiate,
)
from twsbridge.protocol.catalogue import incoming as I
from twsbridge.protocol.catalogue import outgoing as O
from twsbridge.protocol.codec import UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER
from twsbridge.protocol.models import BarData, Contract

from .cases import CASES, CD_HEAD, w

TIME = "20231021 13:28:15 EST"


def pump(data: bytes, conn: ClientConnection | ServerConnection) -> list[Event]:
    conn.receive_data(data)
    return list(conn.events())


def connected(
    client: ClientConnection | None = None, server: ServerConnection | None = None
) -> tuple[ClientConnection, ServerConnection]:
    client = client or ClientConnection()
    server = server or ServerConnection()
    assert pump(client.hello(), server) == [
        ClientHello(client.min_version, client.max_version, client.connect_options)
    ]
    answer = server.accept(TIME)
    assert answer is not None
    (hello,) = pump(answer, client)
    assert isinstance(hello, ServerHello)
    (start,) = pump(client.start_api(client_id=7), server)
    assert start == O.StartApi(clientId=7)
    return client, server


def test_handshake() -> None:
    client, server = ClientConnection(), ServerConnection()
    assert client.state is State.HANDSHAKE and server.state is State.HANDSHAKE
    assert client.server_version == 0
    assert pump(client.hello(), server) == [ClientHello(157, 178, "")]
    assert server.client_hello == ClientHello(157, 178, "")
    answer = server.accept(TIME)
    assert answer == encode_frame(f"178\0{TIME}\0".encode())
    assert server.state is State.CONNECTED
    assert pump(answer, client) == [ServerHello(178, TIME)]
    assert client.state is State.CONNECTED
    assert client.server_version == server.server_version == 178
    events = pump(client.start_api(client_id=7, optional_capabilities="+cap"), server)
    assert events == [O.StartApi(clientId=7, optionalCapabilities="+cap")]
    assert client.state is State.READY and server.state is State.READY
    assert server.client_id == 7


def test_requests_and_answers_cross_as_equal_objects() -> None:
    client, server = connected()
    for case in CASES:
        if 178 not in case.texts:
            continue
        msg = case.expected(178)
        sender, receiver = (client, server) if msg.DIRECTION == OUT else (server, client)
        data = sender.send(msg)
        assert data == encode_frame(case.texts[178].encode())
        assert pump(data, receiver) == [msg]


def test_everything_sent_at_once_arrives_in_order_one_byte_at_a_time() -> None:
    client, server = connected()
    msgs = [c.expected(178) for c in CASES if c.msg.DIRECTION == IN and 178 in c.texts]
    stream = b"".join(server.send(m) for m in msgs)
    events: list[Event] = []
    for k in range(len(stream)):
        events.extend(pump(stream[k : k + 1], client))
    assert events == msgs


def test_handshake_one_byte_at_a_time() -> None:
    client, server = ClientConnection(connect_options="+PACEAPI"), ServerConnection()
    events: list[Event] = []
    for b in client.hello():
        events.extend(pump(bytes([b]), server))
    assert events == [ClientHello(157, 178, "+PACEAPI")]
    answer = server.accept(TIME)
    assert answer is not None
    events = []
    for b in answer:
        events.extend(pump(bytes([b]), client))
    assert events == [ServerHello(178, TIME)]


def test_client_may_send_start_api_before_the_answer_arrives() -> None:
    client, server = ClientConnection(), ServerConnection()
    early = client.hello()
    assert pump(early, server) == [ClientHello(157, 178, "")]
    # frames that arrive before accept() wait, then decode at the agreed version
    late = encode_frame(w("71", "2", "3", "").encode())
    assert pump(late, server) == []
    server.accept(TIME)
    assert list(server.events()) == [O.StartApi(clientId=3)]
    assert server.state is State.READY


# ------------------------------------------------------------------ negotiation


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (157, 178, 178), (100, 176, 176), (157, 157, 157), (150, 160, 160), (100, 178, 178),
        (178, 178, 178), (157, 200, 178), (179, 190, None), (100, 150, None), (100, 156, None),
    ],
)
def test_version_negotiation(lo: int, hi: int, expected: int | None) -> None:
    assert negotiate(lo, hi, 157, 178) == expected
    server = ServerConnection()
    assert pump(b"API\0" + encode_frame(f"v{lo}..{hi}".encode()), server) == [
        ClientHello(lo, hi, "")
    ]
    answer = server.accept(TIME)
    if expected is None:
        assert answer is None
        assert server.state is State.CLOSED
    else:
        assert answer == encode_frame(f"{expected}\0{TIME}\0".encode())
        assert server.server_version == expected


def test_single_version_hello_and_connect_options() -> None:
    server = ServerConnection()
    events = pump(b"API\0" + encode_frame(b"v176 +PACEAPI"), server)
    assert events == [ClientHello(176, 176, "+PACEAPI")]
    _, server = connected(ClientConnection(connect_options="+PACEAPI"))
    assert server.client_hello == ClientHello(157, 178, "+PACEAPI")


def test_client_range_is_checked() -> None:
    with pytest.raises(ValueError):
        ClientConnection(100, 176)
    with pytest.raises(ValueError):
        ClientConnection(170, 160)
    assert ClientConnection(160, 176).hello() == b"API\0" + encode_frame(b"v160..176")


def test_client_refuses_a_server_version_outside_its_range() -> None:
    client = ClientConnection(157, 170)
    client.hello()
    with pytest.raises(ProtocolError) as e:
        client.receive_data(encode_frame(f"176\0{TIME}\0".encode()))
    assert e.value.field == "serverVersion"
    with pytest.raises(ProtocolError):
        ClientConnection().receive_data(encode_frame(b"abc\0x\0"))


@pytest.mark.parametrize(
    "garbage", [b"GET / HTTP/1.1\r\n\r\n", b"\x00\x00\x00\x09v157..178", b"api\0v157"]
)
def test_garbage_before_the_api_prefix(garbage: bytes) -> None:
    server = ServerConnection()
    with pytest.raises(ProtocolError, match="API"):
        server.receive_data(garbage)
    assert server.state is State.CLOSED


def test_bad_hello_text() -> None:
    server = ServerConnection()
    with pytest.raises(ProtocolError) as e:
        server.receive_data(b"API\0" + encode_frame(b"hello"))
    assert e.value.field == "versionRange"


def test_first_request_must_be_start_api() -> None:
    client, server = ClientConnection(), ServerConnection()
    pump(client.hello(), server)
    server.accept(TIME)
    with pytest.raises(ProtocolError) as e:
        server.receive_data(encode_frame(w("49", "1").encode()))
    assert e.value.msg_id == "49"


def test_sending_out_of_turn() -> None:
    client = ClientConnection()
    with pytest.raises(ProtocolError):
        client.start_api(client_id=1)
    with pytest.raises(ProtocolError):
        client.send(O.ReqCurrentTime())
    client, server = connected()
    with pytest.raises(ProtocolError, match="direction"):
        client.send(I.NextValidId(orderId=1))
    with pytest.raises(ProtocolError, match="direction"):
        server.send(O.ReqIds())
    with pytest.raises(ProtocolError):
        client.start_api(client_id=1)  # only once


def test_peer_close_is_an_event() -> None:
    client, _ = connected()
    assert pump(b"", client) == [ConnectionClosed()]
    assert client.state is State.CLOSED


# ------------------------------------------------------------------ malformed frames


def client_at(version: int = 178) -> ClientConnection:
    client = ClientConnection()
    client.hello()
    client.receive_data(encode_frame(f"{version}\0{TIME}\0".encode()))
    assert list(client.events()) == [ServerHello(version, TIME)]
    return client


def test_non_numeric_tick_type_names_the_field() -> None:
    client = client_at()
    with pytest.raises(ProtocolError) as e:
        client.receive_data(encode_frame(w("1", "6", "5", "bid", "101.5", "300", "0").encode()))
    assert e.value.msg_id == "1"
    assert e.value.field == "tickType"
    assert e.value.fields == ["1", "6", "5", "bid", "101.5", "300", "0", ""]
    assert "tickPrice" in str(e.value)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (("2", "6", "5", "8", "lots"), "size"),
        (("1", "6", "5", "1", "1.5.1", "1", "0"), "price"),
        (("17", "3", "a", "b", "1", "20231020", "1", "2", "x", "4", "5", "6", "7"), "low"),
        (("17", "3", "a", "b", "two"), "bars.count"),
        (("79", "1", "1", "8314", "IBM", "STK", "NYSE", "USD", "x"), "derivativeSecTypes.count"),
        (("9", "1", "two"), "orderId"),
    ],
)
def test_bad_field_is_named(fields: tuple[str, ...], field: str) -> None:
    client = client_at()
    with pytest.raises(ProtocolError) as e:
        client.receive_data(encode_frame(w(*fields).encode()))
    assert e.value.msg_id == fields[0]
    assert e.value.field == field


@pytest.mark.parametrize(
    ("keep", "missing"),
    [
        (1, "reqId"),
        (2, "contractDetails.contract.symbol"),
        (5, "contractDetails.contract.strike"),
        (10, "contractDetails.marketName"),
        (13, "contractDetails.minTick"),
        (14, "contractDetails.contract.multiplier"),
        (19, "contractDetails.longName"),
        (20, "contractDetails.contract.primaryExchange"),
    ],
)
def test_truncated_contract_details_names_the_first_missing_field(keep: int, missing: str) -> None:
    full = ["10", "7", *CD_HEAD, "10", "ORD", "SMART", "1", "0", "Apple", "NASDAQ"]
    client = client_at()
    with pytest.raises(ProtocolError, match="frame ends early") as e:
        client.receive_data(encode_frame(w(*full[:keep]).encode()))
    assert e.value.msg_id == "10"
    assert e.value.field == missing


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        (("1", "6", "5", "1", "1.5", "300"), "attrMask"),
        (("9", "1"), "orderId"),
        (("17", "3", "a", "b", "1", "d", "1", "2", "3", "4", "5", "6"), "barCount"),
        (("4", "2", "-1", "2104", "farm OK"), "advancedOrderRejectJson"),
    ],
)
def test_one_field_short_is_a_truncation_not_trailing_fields(
    fields: tuple[str, ...], missing: str
) -> None:
    """The "" after the final NUL must not count as the missing last field."""
    with pytest.raises(ProtocolError, match="frame ends early") as e:
        decode_message(w(*fields).encode(), 178)
    assert e.value.field == missing
    assert e.value.msg_id == fields[0]


def test_truncated_before_a_group_count() -> None:
    client = client_at()
    with pytest.raises(ProtocolError) as e:
        client.receive_data(encode_frame(w("17", "3", "a", "b").encode()))
    assert e.value.field == "bars.count"
    with pytest.raises(ProtocolError) as e:
        client.receive_data(encode_frame(w("17", "3", "a", "b", "1", "d", "1", "2").encode()))
    assert e.value.field == "low"


def test_truncated_tick_price_names_the_missing_field() -> None:
    client = client_at()
    with pytest.raises(ProtocolError) as e:
        client.receive_data(encode_frame(w("1", "6", "5", "1", "1.5").encode()))
    assert e.value.field == "size"


@pytest.mark.parametrize(
    "fields",
    [
        ("1", "6", "5", "1", "101.5", "300", "0", "extra"),
        ("9", "1", "217", ""),
        ("17", "3", "a", "b", "0", "junk"),
        ("102", "x"),
    ],
)
def test_trailing_fields_are_an_error(fields: tuple[str, ...]) -> None:
    client = client_at()
    with pytest.raises(ProtocolError, match="trailing") as e:
        client.receive_data(encode_frame(w(*fields).encode()))
    assert e.value.msg_id == fields[0]
    assert e.value.fields is not None and e.value.fields[:-1] == list(fields)


def test_events_before_a_bad_frame_stay_queued_and_the_stream_goes_on() -> None:
    client = client_at()
    good = encode_frame(w("9", "1", "217").encode())
    bad = encode_frame(w("1", "6", "5", "bid", "1", "1", "0").encode())
    with pytest.raises(ProtocolError):
        client.receive_data(good + bad + good)
    assert list(client.events()) == [I.NextValidId(orderId=217)]
    # the bad frame was consumed whole: framing is intact, the frame after it still decodes
    assert pump(encode_frame(w("9", "1", "5").encode()), client) == [
        I.NextValidId(orderId=217), I.NextValidId(orderId=5)
    ]


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (b"9\x001\x00\xff217\x00", "not valid UTF-8"),
        (b"9\x001\x00217", "NUL terminator"),
        (b"\x00", "no message id"),
        (w("1", "6", "5", "bid", "1", "1", "0").encode(), "tickType"),
        (w("17", "3", "a", "b", "2", "d", "1", "2", "3", "4", "5", "6", "7").encode(), "early"),
    ],
)
def test_a_bad_frame_in_a_read_raises_after_the_frames_before_it(bad: bytes, error: str) -> None:
    """Every frame of one read is decoded in one loop: the frames before a bad one are
    queued, the error names the bad frame, and the frames after it stay buffered."""
    client = client_at()
    good = [encode_frame(w("9", "1", str(k)).encode()) for k in range(3)]
    with pytest.raises(ProtocolError, match=error):
        client.receive_data(good[0] + good[1] + encode_frame(bad) + good[2])
    assert list(client.events()) == [I.NextValidId(orderId=0), I.NextValidId(orderId=1)]
    assert pump(good[0], client) == [I.NextValidId(orderId=2), I.NextValidId(orderId=0)]


def test_a_bad_length_in_a_read_raises_after_the_frames_before_it() -> None:
    client = client_at()
    good = encode_frame(w("9", "1", "4").encode())
    with pytest.raises(ProtocolError, match="bad frame length"):
        client.receive_data(good + b"\0\0\0\0" + good)
    assert list(client.events()) == [I.NextValidId(orderId=4)]
    with pytest.raises(ProtocolError, match="framing was lost"):
        client.receive_data(good)


def test_server_hello_and_messages_in_one_read() -> None:
    client = ClientConnection()
    client.hello()
    data = encode_frame(f"176\0{TIME}\0".encode()) + encode_frame(w("9", "1", "8").encode())
    assert pump(data[:-3], client) == [ServerHello(176, TIME)]
    assert pump(data[-3:], client) == [I.NextValidId(orderId=8)]
    client = ClientConnection()
    client.hello()
    assert pump(data, client) == [ServerHello(176, TIME), I.NextValidId(orderId=8)]


def test_bars_with_unset_fields() -> None:
    """The bars' fast loop keeps the unset conventions of every field."""
    text = w("17", "3", "s", "e", "2", "d1", "", "2.5", "", "1", "", "2147483647", "",
             "d2", "1", "2", "3", "4", "5", "6.5", "7")
    (msg,) = pump(encode_frame(text.encode()), client_at())
    assert msg == I.HistoricalData(reqId=3, startDateStr="s", endDateStr="e", bars=[
        BarData("d1", UNSET_DOUBLE, 2.5, UNSET_DOUBLE, 1.0, UNSET_DECIMAL, UNSET_DECIMAL,
                UNSET_INTEGER),
        BarData("d2", 1.0, 2.0, 3.0, 4.0, Decimal(5), Decimal("6.5"), 7),
    ])


def test_unknown_id_is_kept_whole() -> None:
    client = client_at()
    # 30: no message of TWS's (ids 22-44 are unassigned), so never catalogued
    payload = w("30", "219", "12087792", "EUR", "", "Zürich")
    events = pump(encode_frame(payload.encode()) + encode_frame(w("9", "1", "3").encode()), client)
    assert events == [Unknown("30", ["219", "12087792", "EUR", "", "Zürich"], IN),
                      I.NextValidId(orderId=3)]
    assert isinstance(events[0], Unknown)
    assert events[0].encode() == payload
    # and an Unknown can be sent on, byte for byte
    _, server = connected()
    assert server.send(events[0]) == encode_frame(payload.encode())


@pytest.mark.parametrize("msg_id", ["²", "٣", "-", "x1"])
def test_odd_message_ids_are_unknown(msg_id: str) -> None:
    payload = w(msg_id, "a").encode()
    msg = decode_message(payload, 176)
    assert msg == Unknown(msg_id, ["a"], IN)
    assert msg.ID == -1
    assert pump(encode_frame(payload), client_at()) == [msg]
    # a server expecting startApi names the odd id instead of crashing
    server = ServerConnection()
    pump(ClientConnection().hello(), server)
    server.accept(TIME)
    with pytest.raises(ProtocolError, match="startApi"):
        server.receive_data(encode_frame(payload))


def test_frame_without_message_id() -> None:
    client = client_at()
    with pytest.raises(ProtocolError, match="no message id"):
        client.receive_data(encode_frame(b"\0"))
    with pytest.raises(ProtocolError, match="no message id"):
        decode_message(b"\0", 176)


def test_versions_change_the_decoding() -> None:
    """The same connection code decodes the version's layout (contractDetails 163 vs 164)."""
    old = client_at(163)
    new = client_at(176)
    text = w("10", "7", *CD_HEAD, "10", "ORD", "SMART", "1", "0", "Apple", "NASDAQ", "", "", "",
             "", "", "", "", "", "0", "0", "1", "", "", "", "", "", "1", "2", "3")
    (msg,) = pump(encode_frame(text.encode()), new)
    assert isinstance(msg, I.ContractData)
    assert msg.contractDetails.suggestedSizeIncrement == Decimal(3)
    with pytest.raises(ProtocolError):
        old.receive_data(encode_frame(text.encode()))


def test_historical_bars_cross() -> None:
    client, server = connected()
    bars = [BarData(str(20231001 + k), k, k + 1, k - 1, k + 0.5, Decimal(k), Decimal("1.5"), k)
            for k in range(30)]
    msg = I.HistoricalData(reqId=1, startDateStr="s", endDateStr="e", bars=bars)
    assert pump(server.send(msg), client) == [msg]
    req = O.ReqHistoricalData(reqId=1, contract=Contract(conId=1, symbol="X", secType="BAG"))
    assert pump(client.send(req), server) == [req]


# ------------------------------------------------------------------ robustness


@settings(max_examples=300)
@given(st.binary(max_size=60), st.sampled_from([IN, OUT]))
def test_any_payload_decodes_or_raises_protocol_error(payload: bytes, direction: str) -> None:
    try:
        decode_message(payload, 176, direction)
    except ProtocolError:
        pass


@settings(max_examples=300)
@given(st.lists(st.sampled_from(["1", "2", "4", "10", "17", "79", "9", "-1", "", "x", "²",
                                 "1.5", "Infinity", "3", "0", "٣"]), min_size=1, max_size=30))
def test_any_fields_decode_or_raise_protocol_error(fields: list[str]) -> None:
    for direction in (IN, OUT):
        try:
            decode_message(w(*fields).encode(), 178, direction)
        except ProtocolError:
            pass
