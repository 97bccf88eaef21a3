"""Authentication (API keys with scopes) and order guardrails, for every face.

* :class:`Principal`: an authenticated key (``key_id``, ``name``, ``scopes``);
  scopes are ``read`` < ``trade`` < ``admin``, each implying the weaker ones.
* :func:`require_scope`: a FastAPI dependency for HTTP and WebSocket routes.
* :func:`authenticate_key`: the same check outside FastAPI dependencies
  (GraphQL context, MCP).
* :func:`check_order`: the guardrails every face runs before placing or
  modifying an order; raises :class:`GuardrailError`.
"""

from .auth import authenticate_key, extract_key, require_scope
from .guardrails import GuardrailError, check_order, record_preview
from .principal import SCOPES, Principal, implied_scopes, normalize_scope

__all__ = [
    "SCOPES",
    "GuardrailError",
    "Principal",
    "authenticate_key",
    "check_order",
    "extract_key",
    "implied_scopes",
    "normalize_scope",
    "record_preview",
    "require_scope",
]
