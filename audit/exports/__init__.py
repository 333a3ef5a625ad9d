"""Exports of the record (R4): CSV, JSON Lines, and the records-request package.

services.py asks for, makes, hands out and removes exports; writing.py turns rows into
files in constant memory; verify.py is the standalone verifier put in every package.
"""
