"""Writes about protection cases, one module per topic: ``opening``, ``assessment``,
``decision``, ``enrolment``, ``review``, ``team``, ``tasks``, ``dossier``.

Each entry point is one durable transaction that changes the case through ``CASE_MACHINE``
(history row and audit row included) and records what goes with it. Personal data never
goes into a log line or an audit value: audit rows carry references and keys only. Import
from the topic module (``from msa.cases.services.decision import decision_record``).
"""
