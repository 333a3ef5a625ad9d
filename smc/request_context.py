"""Who, from where: the request facts that audit events carry.

Set once per request by RequestContextMiddleware and read by audit.services, so views
never pass IP addresses or user agents around. Tasks and commands have none.
"""

import uuid
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""


# RequestContext is frozen, so sharing one default instance is safe.
_current: ContextVar[RequestContext] = ContextVar("smc_request", default=RequestContext())  # noqa: B039


def current() -> RequestContext:
    return _current.get()


def begin(*, ip: str | None, user_agent: str, request_id: str | None = None):
    return _current.set(
        RequestContext(
            request_id=request_id or uuid.uuid4().hex, ip=ip, user_agent=user_agent[:400]
        )
    )


def end(token) -> None:
    _current.reset(token)
