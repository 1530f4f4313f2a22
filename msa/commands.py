"""How each part adds its subcommands to ``msa``: a module with ``register(subparsers)``.

Listed here, so that ``msa --help`` is the same on every machine.
"""

from __future__ import annotations

COMMAND_MODULES: tuple[str, ...] = (
    "msa.cases.commands",
    "msa.audit.commands",
    "msa.accounts.commands",
    "msa.dispatch.commands",
    "msa.devices.commands",
    "msa.ingest.commands",
    "msa.evaluation.commands",
    "msa.stats.commands",
    "msa.worker.commands",
    "msa_conformance.cli",
)
