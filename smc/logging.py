"""Logging that never carries a credential (C1), even at DEBUG.

Some platform APIs put credentials in the query string (Facebook's token exchange takes
the short-lived token as `fb_exchange_token`, and the app secret as `client_secret`),
and urllib3 logs each request line at DEBUG. This filter blanks those values before any
handler sees the record. requests-oauthlib and oauthlib log whole token responses at
DEBUG, so settings.LOGGING keeps them at INFO.
"""

import logging
import re

_SECRET_PARAMS = re.compile(
    r"((?:access_token|fb_exchange_token|client_secret|refresh_token|input_token|code|"
    r"code_verifier|token|password)=)[^&\s\"']+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    return _SECRET_PARAMS.sub(r"\1[redacted]", text)


class RedactCredentials(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install() -> None:
    """Called once at start-up (smc/apps.py): filters on the loggers that log URLs."""
    for name in ("urllib3.connectionpool", "requests"):
        logging.getLogger(name).addFilter(RedactCredentials())
