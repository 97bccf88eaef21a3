"""The message catalogue: every message declared once, for client and simulator.

``incoming`` holds what TWS sends (EIncomingMessage ids), ``outgoing`` what a
client sends (EOutgoingMessage ids). Both sides use the same declarations: the
client decodes ``incoming`` and encodes ``outgoing``; the simulator the reverse.
Newer families keep both directions in one module each: ``depth`` (market depth
and tick-by-tick), ``ticks`` (historical ticks, histograms, market rules and SMART
components) and ``options`` (option chains, option model calculations, greeks,
exercise); ``schedule`` (historicalSchedule, the answer to whatToShow SCHEDULE).
"""

from . import depth, incoming, options, outgoing, schedule, ticks
from .generic import Unknown

__all__ = ["Unknown", "depth", "incoming", "options", "outgoing", "schedule", "ticks"]
