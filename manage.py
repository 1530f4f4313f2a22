#!/usr/bin/env python
"""Django's command-line utility, for developers in a checkout: test settings by default.

A deployment runs ``msa manage <command>`` instead, with the real settings and secrets.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msa.settings_test")
    from django.core.management import execute_from_command_line  # noqa: PLC0415 - after the settings module is named

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
