"""What an AI agent reads about the tools: the server's instructions and each tool's text."""

from __future__ import annotations

from ..settings import ServiceSettings

__all__ = ["INSTRUCTIONS", "TOOL_TEXTS", "instructions_for"]


def instructions_for(settings: ServiceSettings) -> str:
    """The mode paragraph: simulator or a real TWS / IB Gateway."""
    if settings.simulated:
        return (
            "MODE: SIMULATOR. These tools talk to twsbridge's embedded simulated TWS gateway: a "
            "paper account (code DU...), fake money, a simulated clock starting 2013-03-01 10:00 "
            "US/Eastern and real 2013 daily prices for AAPL, GOOG, IBM and MSFT. Orders placed "
            "here never reach a market.\n\n"
        )
    return (
        f"MODE: GATEWAY. These tools talk to a real TWS / IB Gateway at {settings.gateway}. "
        "Whether orders use real money depends on the account it is logged into: paper "
        "accounts (codes starting with DU) trade simulated money at Interactive Brokers; live "
        "accounts (codes starting with U) trade REAL MONEY. Check get_account / get_positions "
        "for the account code before trading, and preview_order before place_order.\n\n"
    )


INSTRUCTIONS = """\
twsbridge exposes the Interactive Brokers TWS API. Field names are TWS's own (conId, secType,
totalQuantity, lmtPrice, auxPrice, tif). Units: prices are in the contract's currency (USD for
US stocks) per share / per unit; quantities and sizes are numbers of shares (units of the base
currency for forex); times are ISO 8601 in UTC unless a field says it is TWS's text; unknown
values are null. A contract is given by conId alone, or by symbol (secType defaults to STK,
exchange to SMART, currency to USD); if several contracts match you get an error listing the
candidates with their conId - ask again with the conId. Look-ups need an API key with the
'read' scope; preview_order, place_order and cancel_order need 'trade'. Orders are also subject
to the service's guardrails (limits set by its operator); a refusal says which limit.
"""

_PLACE = """\
Place an order at TWS: it is SENT TO THE BROKER and may fill at once. Against a live gateway \
logged into a live account this TRADES REAL MONEY (paper accounts, codes DU..., and the \
embedded simulator do not). Use preview_order first, and confirm with the user unless they \
asked for exactly this order. The order: the contract (conId, or symbol with secType / \
exchange / currency), action BUY or SELL, totalQuantity (shares), orderType (MKT, LMT, STP, \
STP LMT, TRAIL ...), lmtPrice for limit types and auxPrice (the stop / trigger price, or the \
trailing amount) for stop types, in the contract's currency; tif DAY (default) or GTC ... \
Prices must be on the contract's tick grid (minTick from get_contract). The order is checked \
against the service's guardrails first (a refusal places nothing), journaled, sent, and \
returned once TWS acknowledged it: orderId, permId, status (Submitted, Filled, Cancelled, \
or Rejected with TWS's errorCode / errorMessage), filled / remaining shares and average fill \
price. Needs the 'trade' scope."""

TOOL_TEXTS: dict[str, tuple[str, str]] = {
    "search_contracts": (
        "Search contracts",
        "Find contracts whose ticker symbol or company name starts with a pattern (TWS "
        "reqMatchingSymbols): conId, symbol, secType, primaryExchange, currency and the "
        "derivative types traded on each. Use it to find the conId of a company. Needs 'read'.",
    ),
    "get_contract": (
        "Contract details",
        "Everything TWS knows of the contracts matching a description (conId, or symbol with "
        "secType / exchange / currency): long name, minTick (the price grid for orders, in the "
        "contract's currency), order types, valid exchanges, trading hours (in timeZoneId), "
        "industry, ISIN / CUSIP in secIdList. No match is an error with TWS code 200. "
        "Needs 'read'.",
    ),
    "get_quote": (
        "Snapshot quote",
        "A market data snapshot of one contract (conId, or symbol ...): bid, ask, last price "
        "(contract's currency), bidSize / askSize / lastSize and today's volume (shares), "
        "today's open / high / low and the previous session's close; time is when the "
        "snapshot arrived (UTC). marketDataType 1 = live, 2 = frozen, 3 = delayed (15-20 min), "
        "4 = delayed frozen. Fields TWS did not send are null. Needs 'read'.",
    ),
    "market_depth": (
        "Order book snapshot",
        "The market depth (order book) of one contract (conId, or symbol ...): bids best "
        "(highest) first and asks best (lowest) first, each row price (contract's currency), "
        "size (shares) and marketMaker (the exchange for SMART depth); rows a side (default 5); "
        "smart true for the SMART book over all exchanges (the default with exchange SMART), "
        "or an exchange's own book with exchange ISLAND, ARCA ... and smart false; time is "
        "when the last row arrived (UTC). TWS allows 3 securities with depth at once (error "
        "309, HTTP 409); 10092: no depth for that exchange. Needs 'read'.",
    ),
    "get_bars": (
        "Historical bars",
        "Historical OHLC bars of one contract (TWS reqHistoricalData): each bar's date (TWS's "
        "text: 'yyyymmdd' for daily bars, 'yyyymmdd hh:mm:ss TZ' for intraday), open, high, "
        "low, close (contract's currency), volume (shares; null for MIDPOINT / BID / ASK), "
        "wap (volume-weighted average price) and barCount (trades). durationStr and "
        "barSizeSetting use TWS syntax ('30 D' of '1 day' bars, '1 D' of '5 mins' bars). "
        "Needs 'read'.",
    ),
    "get_positions": (
        "Positions",
        "Every position of every account (TWS reqPositions): account code, contract, "
        "position (shares; negative = short; 0 for a position closed today) and avgCost "
        "(average cost per share including commissions, contract's currency). Needs 'read'.",
    ),
    "get_orders": (
        "Orders",
        "Orders as the service's journal knows them, newest first: orderId, permId, contract, "
        "action, totalQuantity, orderType, lmtPrice / auxPrice, tif, status (Submitted, "
        "PreSubmitted, Filled, Cancelled, Inactive, Rejected), filled / remaining shares, "
        "avgFillPrice and the executions with their commissions. status 'open' asks TWS "
        "which orders are working now. Needs 'read'.",
    ),
    "get_account": (
        "Account summary",
        "The account summary (TWS reqAccountSummary), one row per account and tag: "
        "NetLiquidation, TotalCashValue, BuyingPower, AvailableFunds, ExcessLiquidity, "
        "GrossPositionValue, margins ... Values are TWS's text (parse them as numbers) in the "
        "row's currency. The account code tells paper (DU...) from live (U...) accounts. "
        "Needs 'read'.",
    ),
    "preview_order": (
        "Preview an order (what-if)",
        "Ask TWS what an order would do without placing it (TWS whatIf): commission (min / "
        "max, commissionCurrency) and the initial / maintenance margin and equity with loan "
        "before, change and after, in the account's currency, plus any warningText. Takes the "
        "same order as place_order. Nothing is sent to the market. Needs 'trade'.",
    ),
    "place_order": ("Place an order", _PLACE),
    "cancel_order": (
        "Cancel an order",
        "Cancel a working order of this service by its orderId (TWS cancelOrder) and return "
        "the order once TWS confirmed (status Cancelled), or an error: TWS code 10147 when "
        "there is no such order, 161 when it is already filled or cancelled. A partly filled "
        "order keeps its fills. Needs 'trade'.",
    ),
}
"""Tool name -> (title, description)."""
