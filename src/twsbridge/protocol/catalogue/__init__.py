"""The message catalogue: every message declared once, for client and simulator.

``incoming`` holds what TWS sends (EIncomingMessage ids), ``outgoing`` what a
client sends (EOutgoingMessage ids). Both sides use the same declarations: the
client decodes ``incoming`` and encodes ``outgoing``; the simulator the reverse.
``ticks`` holds both directions of historical ticks, histograms, market rules
and SMART components.
"""

from . import incoming, outgoing, ticks
from .generic import Unknown

__all__ = ["Unknown", "incoming", "outgoing", "ticks"]
