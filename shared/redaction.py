"""Credentials never reach a log line: one masking function for every URL the processes print
(`DATABASE_URL`, `REDIS_URL`, REST URLs), and a logging filter that applies it to every record.

`postgresql://app:s3cret@db.example.com/auction` is printed as
`postgresql://app:***@db.example.com/auction`; a secret in the query (`?password=...`,
`?token=...`) is masked the same way. The user name and host stay: they say which server is
meant, and neither lets anyone in.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# Query members that carry a secret (libpq's `password`, `sslpassword`; tokens and keys).
SECRET_PARAMS = frozenset({"password", "sslpassword", "pass", "token", "secret", "key", "apikey"})

# scheme://user:password@  (the password is anything up to the @ that ends the userinfo)
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@\s/]*@")
_QUERY_SECRET = re.compile(
    r"(?P<name>[?&](?:" + "|".join(sorted(SECRET_PARAMS)) + r"))=[^&\s#]*", re.IGNORECASE
)


def mask_url(url: str) -> str:
    """The URL with its password (and any secret query member) replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_secrets(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if has_password else netloc
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(k.lower() in SECRET_PARAMS for k, _ in pairs):
        query = urlencode(
            [(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs], safe="/*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_secrets(text: str) -> str:
    """Every URL credential inside free text (an exception message, a log line) masked."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m['name']}={MASK}", text)


class RedactingFilter(logging.Filter):
    """Masks URL credentials in the rendered message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem to report, not ours
            return True
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_redaction() -> None:
    """Put the filter on every handler of the root logger (call after logging is set up)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
