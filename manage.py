#!/usr/bin/env python
"""Operator commands. They connect as the database owner (migrations, agencies);
the web server and workers connect as the app role. With no DATABASE_URL set, they run
against the embedded database of the demo (starting it if needed)."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smc.settings")
    os.environ.setdefault("SMC_DB_ROLE", "owner")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
