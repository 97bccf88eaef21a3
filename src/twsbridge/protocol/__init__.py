"""twsbridge.protocol: the TWS socket protocol, sans-I/O.

No sockets and no asyncio here: framing (:mod:`.framing`), the field codec
(:mod:`.codec`), server versions and capabilities (:mod:`.versions`), the
message catalogue shared by client and simulator (:mod:`.catalogue`) and the
connection state machines of both roles (:mod:`.connection`).
"""

from . import codec
from .catalogue import incoming, outgoing
from .catalogue.generic import Unknown
from .catalogue.incoming import (
    CommissionReportMessage,
    CompletedOrder,
    ExecDetails,
    OpenOrder,
    OrderStatus,
    PnL,
    PnLSingle,
)
from .catalogue.outgoing import (
    CancelOrder,
    CancelPnL,
    CancelPnLSingle,
    PlaceOrder,
    ReqGlobalCancel,
    ReqPnL,
    ReqPnLSingle,
)
from .codec import UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER, UNSET_LONG
from .connection import (
    ClientConnection,
    ClientHello,
    ConnectionClosed,
    Event,
    ServerConnection,
    ServerHello,
    State,
    decode_message,
    encode_message,
    negotiate,
)
from .errors import ProtocolError
from .framing import FrameReader, encode_frame, split_fields
from .models import (
    BarData,
    ComboLeg,
    Contract,
    ContractDescription,
    ContractDetails,
    DeltaNeutralContract,
    ExecutionFilter,
    TagValue,
)
from .order_models import (
    CommissionReport,
    Execution,
    ExecutionCondition,
    MarginCondition,
    Order,
    OrderComboLeg,
    OrderCondition,
    OrderState,
    PercentChangeCondition,
    PriceCondition,
    SoftDollarTier,
    TimeCondition,
    VolumeCondition,
)
from .spec import IN, OUT, Message, registry
from .versions import CLIENT_MAX_VERSION, CLIENT_MIN_VERSION, Capabilities, ServerVersion

__all__ = [
    "CLIENT_MAX_VERSION",
    "CLIENT_MIN_VERSION",
    "IN",
    "OUT",
    "UNSET_DECIMAL",
    "UNSET_DOUBLE",
    "UNSET_INTEGER",
    "UNSET_LONG",
    "BarData",
    "CancelOrder",
    "CancelPnL",
    "CancelPnLSingle",
    "Capabilities",
    "ClientConnection",
    "ClientHello",
    "ComboLeg",
    "CommissionReport",
    "CommissionReportMessage",
    "CompletedOrder",
    "ConnectionClosed",
    "Contract",
    "ContractDescription",
    "ContractDetails",
    "DeltaNeutralContract",
    "Event",
    "ExecDetails",
    "Execution",
    "ExecutionCondition",
    "ExecutionFilter",
    "FrameReader",
    "MarginCondition",
    "Message",
    "OpenOrder",
    "Order",
    "OrderComboLeg",
    "OrderCondition",
    "OrderState",
    "OrderStatus",
    "PercentChangeCondition",
    "PlaceOrder",
    "PnL",
    "PnLSingle",
    "PriceCondition",
    "ProtocolError",
    "ReqGlobalCancel",
    "ReqPnL",
    "ReqPnLSingle",
    "ServerConnection",
    "ServerHello",
    "ServerVersion",
    "SoftDollarTier",
    "State",
    "TagValue",
    "TimeCondition",
    "Unknown",
    "VolumeCondition",
    "codec",
    "decode_message",
    "encode_frame",
    "encode_message",
    "incoming",
    "negotiate",
    "outgoing",
    "registry",
    "split_fields",
]
