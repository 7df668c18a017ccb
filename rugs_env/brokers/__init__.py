"""Brokers: one interface (:mod:`.base`) for the simulated broker (ledger fills) and, later, the live one."""

from rugs_env.brokers.base import Account, Broker, Order, OrderKind, OrderResult, OrderStatus
from rugs_env.brokers.simulated import SimulatedBroker

__all__ = ["Account", "Broker", "Order", "OrderKind", "OrderResult", "OrderStatus", "SimulatedBroker"]
