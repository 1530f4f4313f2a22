"""Writes of the dispatch part, by topic: ``console`` (the operator's actions on an incident),
``dispatching`` (sending units and their progress), ``escalation`` (the worker's timers and the
supervisor's alerts) and ``units`` (positions, availability, the AVL token).

Each action is one service: it locks what it changes, checks, writes, records one
history/timeline row, one audit row and one event (to the centre's stream and, while the
incident is offered to a backup centre, to that one's too), all in one transaction.
"""
