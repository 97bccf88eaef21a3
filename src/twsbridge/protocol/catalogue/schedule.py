"""The trading schedule of a contract: historicalSchedule (id 106, incoming).

TWS answers a reqHistoricalData (id 20) whose whatToShow is ``SCHEDULE`` with
one historicalSchedule instead of historicalData (17): the span's first and
last session times, the time zone they are written in, and one entry per
session. Server version 165+ (``HISTORICAL_SCHEDULE``); no version field.
Times are ``yyyymmdd-hh:mm:ss`` in ``timeZone``; ``refDate`` (``yyyymmdd``) is
the trading day a session belongs to. Source: TWS API reference, "Historical
Bar Data" (whatToShow SCHEDULE, TWS API 10.12) and EWrapper.historicalSchedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..codec import INT, STR
from ..spec import IN, F, Group, Message, message

__all__ = ["HistoricalSchedule", "HistoricalSession"]


@dataclass(slots=True)
class HistoricalSession:
    """One session of a historicalSchedule: ``startDateTime`` and
    ``endDateTime`` (``yyyymmdd-hh:mm:ss``) and its trading day ``refDate``
    (``yyyymmdd``)."""

    startDateTime: str = ""
    endDateTime: str = ""
    refDate: str = ""


@message(IN, 106, "historicalSchedule")
class HistoricalSchedule(Message):
    """The sessions of a SCHEDULE reqHistoricalData (id 106; server version 165+)."""

    reqId: int = 0
    startDateTime: str = ""
    endDateTime: str = ""
    timeZone: str = ""
    sessions: list[HistoricalSession] = field(default_factory=list)
    WIRE = (
        F("reqId", INT), F("startDateTime", STR), F("endDateTime", STR), F("timeZone", STR),
        Group("sessions", HistoricalSession, (
            F("startDateTime", STR), F("endDateTime", STR), F("refDate", STR),
        )),
    )
