"""``python -m bench press|throughput|memory|recommend|device_api`` (see bench/README.md)."""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "press": "bench.press",
    "throughput": "bench.throughput",
    "memory": "bench.memory",
}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(f"usage: python -m bench {{{','.join(COMMANDS)}}} [options]", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[sys.argv[1]])
    return int(module.main(sys.argv[2:]))


if __name__ == "__main__":
    sys.exit(main())
