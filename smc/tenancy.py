"""Tenancy: the agency scope, in Python and in PostgreSQL.

Two nets, so that no feature can leak one agency's data into another's:

1. In Python, every model holding agency data uses `AgencyScopedManager`, which raises
   `AgencyScopeMissing` when no agency is active and filters to the active one
   otherwise (django-scopes: a forgotten `.filter` fails loudly instead of leaking).
2. In PostgreSQL, those tables have FORCED row-level security that shows only the rows
   of the agency named in the transaction-local setting `smc.agency_id`.
   `RowScopeGuard` sets it at the start of every transaction from the Python scope,
   so a raw query or a forgotten scope sees no agency rows at all.

A scope opens in three places only: `accounts.middleware.AgencyMiddleware` (from the
signed-in member), `@agency_task` (from the task's `agency_id`) and management commands
(`--agency <slug>`). Work that truly spans agencies uses `with every_agency():` under a
comment saying why; `tools/guards.sh` lists every use for reviewers.
"""

from __future__ import annotations

import contextlib
import functools

from django.db import migrations
from django_scopes import ScopedManager, get_scope, scope, scopes_disabled
from django_scopes.exceptions import ScopeError
from psycopg.pq import TransactionStatus

AgencyScopeMissing = ScopeError


def AgencyScopedManager(field: str = "agency"):  # noqa: N802 - reads like a class
    """The default manager of every model that holds agency data.

    `field` names the agency: a foreign key, or `agency_id` for the record, which keeps
    ids rather than keys so that it outlives the rows it names.
    """
    return ScopedManager(agency=field)


@contextlib.contextmanager
def agency_scope(agency):
    """Open the scope of one agency (an Agency or its id)."""
    agency_id = getattr(agency, "pk", agency)
    if not agency_id:
        # django-scopes treats None as "no filter": refuse it rather than open everything.
        raise AgencyScopeMissing("An agency scope needs an agency.")
    with scope(agency=int(agency_id)):
        yield


@contextlib.contextmanager
def every_agency():
    """Lift the agency scope for work that truly spans agencies. Say why at each use."""
    with scopes_disabled():
        yield


def active_agency_id() -> int | None:
    return get_scope().get("agency")


def spans_every_agency() -> bool:
    return get_scope().get("_enabled", True) is False


def agency_task(func):
    """Run a Celery task body inside the scope of its `agency_id` keyword argument."""

    @functools.wraps(func)
    def wrapper(*args, agency_id: int, **kwargs):
        with agency_scope(agency_id):
            return func(*args, agency_id=agency_id, **kwargs)

    return wrapper


# --- PostgreSQL row-level security ----------------------------------------------------------

_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
# Statements PostgreSQL refuses inside a transaction; none of them reads agency rows.
_OUTSIDE_TRANSACTION = (
    "CREATE DATABASE",
    "DROP DATABASE",
    "VACUUM",
    "CREATE INDEX CONCURRENTLY",
    "DROP INDEX CONCURRENTLY",
    "REINDEX",
    "ALTER SYSTEM",
)
_SET_SCOPE = (
    "SELECT set_config('smc.agency_id', %s, true), set_config('smc.every_agency', %s, true)"
)


def _wanted_row_scope() -> tuple[str, str]:
    if spans_every_agency():
        return ("", "on")
    agency_id = active_agency_id()
    return (str(agency_id) if agency_id else "", "")


class RowScopeGuard:
    """Django execute wrapper: the transaction carries the active agency to PostgreSQL.

    The setting is transaction-local (`set_config(..., true)`, i.e. SET LOCAL), so it
    can never outlive the transaction into a pooled connection. It is set once per
    transaction and again only when the scope changes, or when a savepoint it was set
    in may have been rolled back (which undoes a SET LOCAL).
    """

    def __call__(self, execute, sql, params, many, context):
        django_connection = context["connection"]
        raw = django_connection.connection
        if raw.autocommit:
            if isinstance(sql, str) and sql.lstrip()[:30].upper().startswith(_OUTSIDE_TRANSACTION):
                return execute(sql, params, many, context)
            # Outside transaction.atomic each statement is its own transaction: wrap it
            # in one so the setting applies to it.
            with raw.transaction():
                raw.execute(_SET_SCOPE, _wanted_row_scope())
                return execute(sql, params, many, context)

        if raw.info.transaction_status == TransactionStatus.IDLE:
            django_connection.smc_row_scope = None  # a new transaction starts here
        if isinstance(sql, str) and sql.startswith(_TRANSACTION_CONTROL):
            # Setting the scope right before ROLLBACK TO SAVEPOINT would be undone by it.
            return execute(sql, params, many, context)

        wanted = _wanted_row_scope()
        savepoints = tuple(django_connection.savepoint_ids)
        current = getattr(django_connection, "smc_row_scope", None)
        if current is None or current[0] != wanted or savepoints[: len(current[1])] != current[1]:
            raw.execute(_SET_SCOPE, wanted)
            django_connection.smc_row_scope = (wanted, savepoints)
        return execute(sql, params, many, context)


ROW_SCOPE_GUARD = RowScopeGuard()


def install_row_scope_guard(sender, connection, **kwargs):
    """connection_created receiver (smc/apps.py)."""
    if connection.vendor == "postgresql" and ROW_SCOPE_GUARD not in connection.execute_wrappers:
        connection.execute_wrappers.append(ROW_SCOPE_GUARD)


def agency_row_security(table: str) -> migrations.RunSQL:
    """Migration operation: FORCED row-level security on an agency table.

    FORCE makes the policy apply to the table's owner too; only a superuser or a role
    with BYPASSRLS escapes it, and SMC's roles are neither.
    """
    return migrations.RunSQL(
        sql=[
            f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
            f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
            f'CREATE POLICY agency_isolation ON "{table}" '
            f"USING (smc_row_visible(agency_id)) WITH CHECK (smc_row_visible(agency_id))",
        ],
        reverse_sql=[
            f'DROP POLICY IF EXISTS agency_isolation ON "{table}"',
            f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY',
            f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY',
        ],
    )
