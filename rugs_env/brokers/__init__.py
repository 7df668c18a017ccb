"""Brokers: one interface (:mod:`.base`) for the simulated broker (ledger fills, :mod:`.simulated`) and the
live one (:class:`rugs_env.brokers.socket_broker.SocketBroker`: orders on an authenticated socket, fills
from the server's events). The socket broker is not imported here, so that the environments' import of
this package stays free of the socket stack.
"""

from rugs_env.brokers.base import Account, Broker, Order, OrderKind, OrderResult, OrderStatus
from rugs_env.brokers.simulated import SimulatedBroker

__all__ = ["Account", "Broker", "Order", "OrderKind", "OrderResult", "OrderStatus", "SimulatedBroker"]
