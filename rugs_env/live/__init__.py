"""Live play: an agent on the live feed, through the same Broker interface and rulebook ledger as replay.

==================  ========================================================================================
``options``         LiveOptions (how to connect, trade and record) and LiveError
``market``          MarketTracker: the feed's messages as game / presale / tick / rug transitions
``session``         LiveSession: the connection (the recorder's feed client), the broker, waiting, events
``paper``           PaperBroker: simulated fills on the live market (``--paper``, the default)
``recording``       the journal, the recorder's pipeline (games, the bot's verified session file), notes
``policies``        what chooses the actions: a MaskablePPO model, random (masked), hold
``play``            the play loop of ``rugs play`` and its status line
==================  ========================================================================================

The brokers are in :mod:`rugs_env.brokers` (``socket_broker``, ``risk``, ``reconcile``, ``mirror``), the
environment is ``RugsLive-v0`` (:mod:`rugs_env.envs.live`).
"""
