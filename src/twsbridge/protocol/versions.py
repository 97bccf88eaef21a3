"""Server versions of the TWS API and the capabilities they imply.

The numbers are TWS's ``MIN_SERVER_VER_*`` constants (TWS API documentation,
"Server versions"). A connection negotiates one version at the handshake and
fixes a :class:`Capabilities` for its lifetime; the message catalogue compiles
its codecs for that version once, so no parser tests versions at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "CLIENT_MAX_VERSION",
    "CLIENT_MIN_VERSION",
    "Capabilities",
    "ServerVersion",
]


class ServerVersion(IntEnum):
    """Named server versions (``MIN_SERVER_VER_*``) that change the wire format."""

    AGG_GROUP = 121
    UNDERLYING_INFO = 122
    SYNT_REALTIME_BARS = 124
    MARKET_RULES = 126
    REAL_EXPIRATION_DATE = 134
    STOCK_TYPE = 152
    ENCODE_MSG_ASCII7 = 153
    REPLACE_FA_END = 157
    DURATION = 158
    MARKET_DATA_IN_SHARES = 159
    POST_TO_ATS = 160
    WSHE_CALENDAR = 161
    AUTO_CANCEL_PARENT = 162
    FRACTIONAL_SIZE_SUPPORT = 163
    SIZE_RULES = 164
    HISTORICAL_SCHEDULE = 165
    ADVANCED_ORDER_REJECT = 166
    USER_INFO = 167
    CRYPTO_AGGREGATED_TRADES = 168
    MANUAL_ORDER_TIME = 169
    PEGBEST_PEGMID_OFFSETS = 170
    WSH_EVENT_DATA_FILTERS = 171
    IPO_PRICES = 172
    WSH_EVENT_DATA_FILTERS_DATE = 173
    INSTRUMENT_TIMEZONE = 174
    HMDS_MARKET_DATA_IN_SHARES = 175
    BOND_ISSUERID = 176
    FA_PROFILE_DESUPPORT = 177
    PENDING_PRICE_REVISION = 178
    FUND_DATA_FIELDS = 179
    PROTOBUF = 201


#: The range this implementation speaks (the text protocol, before protobuf).
CLIENT_MIN_VERSION = 157
CLIENT_MAX_VERSION = 178


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What one connection can do, decided once at the handshake.

    Attributes:
        server_version: the negotiated server version.
        connection_time: the server's connection time text (``"20231021 13:28:15 EST"``).
        optional_capabilities: the ``optionalCapabilities`` string of startApi.
    """

    server_version: int
    connection_time: str = ""
    optional_capabilities: str = ""

    @property
    def advanced_order_reject(self) -> bool:
        """error (4) carries ``advancedOrderRejectJson`` (server version 166+)."""
        return self.server_version >= ServerVersion.ADVANCED_ORDER_REJECT

    @property
    def size_rules(self) -> bool:
        """contractDetails carries minSize/sizeIncrement (server version 164+)."""
        return self.server_version >= ServerVersion.SIZE_RULES

    @property
    def binary_message_ids(self) -> bool:
        """Message ids are 4-byte binary and families use protobuf (201+)."""
        return self.server_version >= ServerVersion.PROTOBUF
