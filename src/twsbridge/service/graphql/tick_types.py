"""The GraphQL types of historical ticks, histograms, market rules and SMART components,
derived (:func:`.types.derive`) from the REST models of :mod:`twsbridge.service.tick_schemas`."""

from __future__ import annotations

from ..tick_schemas import (
    HistogramEntryPublic,
    HistogramPublic,
    HistoricalTickPublic,
    HistoricalTicksPublic,
    MarketRulePublic,
    PriceIncrementPublic,
    SmartComponentPublic,
    SmartComponentsPublic,
)
from .types import ContractGQL, derive

__all__ = [
    "HistogramEntryGQL",
    "HistogramGQL",
    "HistoricalTickGQL",
    "HistoricalTicksGQL",
    "MarketRuleGQL",
    "PriceIncrementGQL",
    "SmartComponentGQL",
    "SmartComponentsGQL",
]

assert ContractGQL is not None  # derived first: the answers below nest it

HistoricalTickGQL = derive(HistoricalTickPublic, "HistoricalTick")
HistoricalTicksGQL = derive(HistoricalTicksPublic, "HistoricalTicks")
HistogramEntryGQL = derive(HistogramEntryPublic, "HistogramEntry")
HistogramGQL = derive(HistogramPublic, "Histogram")
PriceIncrementGQL = derive(PriceIncrementPublic, "PriceIncrement")
MarketRuleGQL = derive(MarketRulePublic, "MarketRule")
SmartComponentGQL = derive(SmartComponentPublic, "SmartComponent")
SmartComponentsGQL = derive(SmartComponentsPublic, "SmartComponents")

