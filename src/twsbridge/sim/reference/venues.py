"""The trading venues of the simulated TWS: TWS exchange codes, their
exchange calendar, time zone and the hours TWS publishes.

One :class:`Venue` per market the simulator can list instruments on. The
days, holidays, early closes (half days), late opens and lunch breaks of a
venue come from the calendar of the ``exchange_calendars`` library named by
``calendar``; this table only adds what TWS does on top of the exchange:

* ``timeZoneId``: the zone name TWS sends in contractDetails (id 10,
  ``ContractDetails.timeZoneId``), a legacy tz database alias such as
  ``"MET"`` or ``"Hongkong"``; ``iana`` is the canonical zone it stands for;
* the liquid hours (``liquidHours``, the regular session) and the trading
  hours (``tradingHours``, the extended session) as offsets from the
  calendar's open and close, or as an hour of its own where TWS's regular
  session differs from the exchange's (CME equity futures: 08:30 Chicago);
* ``fixed``: for IDEALPRO forex, which no exchange calendar describes, the
  session of trading day D (from D-1 17:15 to D 17:00 US/Eastern) and the
  fixed-date closures (1 January and 25 December).

Sources: TWS contractDetails as received by clients (US/Eastern 04:00-20:00
and 09:30-16:00 for US stocks; US/Central ``1700-1600`` with liquid hours
from 08:30 for CME equity futures; US/Eastern ``1800-1700`` for COMEX and
NYMEX; MET 09:00-17:30 for XETRA; Hongkong ``0930-1200;1300-1610`` for
SEHK; Japan ``0900-1130;1230-1530`` for TSEJ). Where a value is the
exchange's published schedule rather than a TWS capture, ``note`` says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

__all__ = [
    "VENUES",
    "FixedHours",
    "Venue",
    "venue",
    "venue_by_code",
]

_ZERO = dt.timedelta(0)


@dataclass(frozen=True, slots=True)
class FixedHours:
    """Hours of a venue without an exchange calendar (IDEALPRO forex).

    The session of trading day D opens at ``open`` on D + ``open_offset``
    days and closes at ``close`` on D (wall-clock times of the venue's
    zone). Weekdays trade except the (month, day) pairs of ``closed``.
    """

    open: dt.time
    close: dt.time
    open_offset: int = 0
    closed: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Venue:
    """One trading venue as TWS presents it.

    ``code`` is the TWS exchange code the venue is known by, ``codes`` every
    TWS exchange code (``Contract.exchange`` / ``primaryExchange``) that
    trades on its hours. ``calendar`` is the ``exchange_calendars`` name.
    ``liquidHours`` / ``tradingHours`` are the hours TWS publishes for a
    regular day, wall times of ``timeZoneId`` (``HHMM-HHMM``, a lunch break
    as ``0930-1200,1300-1610``, an open later than the close opens the day
    before); they document the table, and tests check that the sessions
    computed from the calendar and the offsets below give them.
    Liquid hours are the calendar's session(s), starting at ``liquid_open``
    when given (a wall time of the trading day itself) and ending
    ``closing_auction`` after the calendar's close on a full day. Trading
    (extended) hours start ``pre`` before the first open and end ``post``
    after the last close (also on early-close days: US stocks trade until
    17:00 after a 13:00 close).
    """

    code: str
    codes: tuple[str, ...]
    calendar: str
    timeZoneId: str
    iana: str
    currency: str
    secTypes: tuple[str, ...]
    liquidHours: str
    tradingHours: str
    pre: dt.timedelta = _ZERO
    post: dt.timedelta = _ZERO
    liquid_open: dt.time | None = None
    closing_auction: dt.timedelta = _ZERO
    fixed: FixedHours | None = None
    note: str = ""

    @property
    def tz(self) -> ZoneInfo:
        """The zone of ``timeZoneId`` (the one sessions are given in)."""
        return ZoneInfo(self.timeZoneId)

    @property
    def overnight(self) -> bool:
        """True when a day's session opens the calendar day before (futures, forex)."""
        if self.fixed is not None:
            return self.fixed.open_offset < 0
        return self.calendar == "CMES"


def _h(hours: float) -> dt.timedelta:
    return dt.timedelta(hours=hours)


_US_STOCK_CODES = (
    "NYSE", "NASDAQ", "ISLAND", "ARCA", "AMEX", "BATS", "IEX", "CHX", "BEX",
    "BYX", "EDGEA", "EDGX", "DRCTEDGE", "PEARL", "PSX", "LTSE", "MEMX", "NYSENAT",
    "IBEOS", "ISE", "PHLX", "FOXRIVER", "TPLUS0", "T24X",
)

VENUES: tuple[Venue, ...] = (
    Venue(
        "NYSE", _US_STOCK_CODES, "XNYS", "US/Eastern", "America/New_York", "USD",
        ("STK", "ETF", "WAR", "CFD"), "0930-1600", "0400-2000", pre=_h(5.5), post=_h(4),
        note="US stocks and ETFs: 04:00-20:00 trading, 09:30-16:00 liquid (TWS).",
    ),
    Venue(
        "CBOE", ("CBOE", "CBOE2"), "XNYS", "US/Central",
        "America/Chicago", "USD", ("OPT", "IND"), "0830-1500", "0830-1500",
        note="US index options and indices: NYSE days, 08:30-15:00 Chicago; "
             "timeZoneId US/Central as TWS gives for Chicago venues; Cboe's "
             "global trading hours session is not modelled.",
    ),
    Venue(
        "CME", ("CME", "GLOBEX"), "CMES", "US/Central", "America/Chicago", "USD",
        ("FUT", "FOP"), "0830-1600", "1700-1600", liquid_open=dt.time(8, 30),
        note="CME Globex: 17:00 (day before) to 16:00 Chicago, daily break 16:00-17:00; "
             "liquid hours from 08:30 (TWS, ES).",
    ),
    Venue(
        "CBOT", ("CBOT", "ECBOT"), "CMES", "US/Central", "America/Chicago", "USD",
        ("FUT", "FOP"), "0830-1600", "1700-1600", liquid_open=dt.time(8, 30),
        note="CBOT on Globex: the CME schedule (equity and rate products).",
    ),
    Venue(
        "NYMEX", ("NYMEX", "COMEX", "NYBOT"), "CMES", "US/Eastern", "America/New_York",
        "USD", ("FUT", "FOP"), "0930-1700", "1800-1700", liquid_open=dt.time(9, 30),
        note="NYMEX/COMEX on Globex: 18:00 (day before) to 17:00 New York (TWS, MGC); "
             "liquid hours from 09:30 New York (exchange's day session, not a TWS capture).",
    ),
    Venue(
        "IBIS", ("IBIS", "XETRA", "FWB", "GETTEX"), "XETR", "MET", "Europe/Berlin", "EUR",
        ("STK", "ETF", "CFD"), "0900-1730", "0900-1730",
        note="XETRA: 09:00-17:30 MET (TWS), early close 14:00 on 30 December.",
    ),
    Venue(
        "EUREX", ("EUREX", "DTB"), "XEUR", "MET", "Europe/Berlin", "EUR", ("FUT", "OPT"),
        "0800-2200", "0110-2200", pre=dt.timedelta(hours=6, minutes=50),
        note="Eurex: liquid 08:00-22:00 MET; trading from 01:10 (Eurex's Asian hours "
             "for index futures; exchange schedule, not a TWS capture).",
    ),
    Venue(
        "LSE", ("LSE", "LSEETF", "LSEIOB1"), "XLON", "Europe/London", "Europe/London", "GBP",
        ("STK", "ETF", "CFD"), "0800-1630", "0800-1630",
        note="London Stock Exchange: 08:00-16:30, early close 12:30 on 24 and 31 December.",
    ),
    Venue(
        "SEHK", ("SEHK", "SEHKNTL", "SEHKSZSE"), "XHKG", "Hongkong", "Asia/Hong_Kong", "HKD",
        ("STK", "ETF", "WAR", "CFD"), "0930-1200,1300-1610", "0930-1200,1300-1610",
        closing_auction=dt.timedelta(minutes=10),
        note="Hong Kong: 09:30-12:00 and 13:00-16:00 plus the closing auction to 16:10 (TWS).",
    ),
    Venue(
        "TSEJ", ("TSEJ", "TSE.JPN", "JPNNEXT", "CHIXJ"), "XTKS", "Japan", "Asia/Tokyo", "JPY",
        ("STK", "ETF", "CFD"), "0900-1130,1230-1530", "0900-1130,1230-1530",
        note="Tokyo: 09:00-11:30 and 12:30-15:30 (15:00 before 2024-11-05) (TWS).",
    ),
    Venue(
        "TSE", ("TSE", "VENTURE", "TSX"), "XTSE", "America/Toronto", "America/Toronto", "CAD",
        ("STK", "ETF", "CFD"), "0930-1600", "0930-1600",
        note="Toronto: 09:30-16:00; timeZoneId not confirmed from a TWS capture.",
    ),
    Venue(
        "IDEALPRO", ("IDEALPRO", "IDEAL"), "24/5", "US/Eastern", "America/New_York", "",
        ("CASH",), "1715-1700", "1715-1700",
        fixed=FixedHours(dt.time(17, 15), dt.time(17, 0), -1, ((1, 1), (12, 25))),
        note="IDEALPRO forex: Sunday 17:15 to Friday 17:00 US/Eastern, each day's session "
             "from D-1 17:15 to D 17:00; closed 1 January and 25 December.",
    ),
)
"""Every venue of the simulator, US stocks first (the default venue)."""

_BY_CODE = {c: v for v in reversed(VENUES) for c in (v.code, *v.codes)}
_BY_NAME = {v.code: v for v in VENUES}

#: The venue of an instrument's currency when its exchange names none (CFDs, SMART).
_BY_CURRENCY = {"USD": "NYSE", "EUR": "IBIS", "GBP": "LSE", "HKD": "SEHK", "JPY": "TSEJ",
                "CAD": "TSE"}


def venue(code: str) -> Venue:
    """The venue of canonical code ``code`` (``"NYSE"``, ``"SEHK"``...); KeyError if unknown."""
    return _BY_NAME[code]


@cache
def venue_by_code(exchange: str, secType: str = "", currency: str = "") -> Venue | None:
    """The venue a TWS exchange code trades on, or None.

    ``SMART`` (and an empty code) names no venue of its own: it resolves by
    ``currency`` (USD: US stocks, HKD: SEHK ...) unless ``secType`` is
    ``CASH`` (IDEALPRO). Futures codes (GLOBEX, NYMEX, EUREX) resolve
    whatever the secType.
    """
    ex = exchange.upper()
    if secType.upper() == "CASH":
        return _BY_NAME["IDEALPRO"]
    if ex and ex != "SMART":
        found = _BY_CODE.get(ex)
        if found is not None:
            return found
    by_cur = _BY_CURRENCY.get(currency.upper())
    return _BY_NAME[by_cur] if by_cur and (not ex or ex == "SMART") else None
