"""A NUL inside a value would split the field on the wire: encoding refuses it."""

import pytest

from twsbridge.protocol import Contract, ProtocolError, encode_message
from twsbridge.protocol.catalogue import outgoing


@pytest.mark.parametrize("version", [157, 178])
def test_nul_in_a_string_field_is_refused(version: int) -> None:
    msg = outgoing.ReqContractDetails(reqId=3, contract=Contract(symbol="AA\0PL"))
    with pytest.raises(ProtocolError) as err:
        encode_message(msg, version)
    assert err.value.msg_id == "9"
    assert "NUL" in str(err.value)


def test_values_without_nul_encode() -> None:
    data = encode_message(outgoing.ReqMatchingSymbols(reqId=1, pattern="intc"), 178)
    assert data == b"\x00\x00\x00\x0a81\x001\x00intc\x00"
