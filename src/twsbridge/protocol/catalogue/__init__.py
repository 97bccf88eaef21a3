"""The message catalogue: every message declared once, for client and simulator.

``incoming`` holds what TWS sends (EIncomingMessage ids), ``outgoing`` what a
client sends (EOutgoingMessage ids). Both sides use the same declarations: the
client decodes ``incoming`` and encodes ``outgoing``; the simulator the reverse.
Family modules declare both directions of one area: ``depth`` (market depth
and tick-by-tick data).
"""

from . import depth, incoming, outgoing
from .generic import Unknown

__all__ = ["Unknown", "depth", "incoming", "outgoing"]
