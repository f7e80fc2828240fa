"""One push through Apprise, with Apprise's own complaints kept but its secrets taken out.

Apprise says why a send failed only in its log. The reason is worth keeping (the outbox
shows it), but a log line may quote the URL, and the URL holds the token, so every part
of the URL that could be secret is masked before the text leaves this module.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote as _quote

# Services whose Apprise URL takes `click=`: tapping the push opens that address (ntfy's
# X-Click header, Bark's `url`). Others are left exactly as configured.
LINKABLE = frozenset({"ntfy", "ntfys", "bark", "barks"})
_HOST = re.compile(r"(\d{1,3}\.){3}\d{1,3}|localhost|[a-z][a-z0-9-]*(\.[a-z0-9-]+)+")


class DeliveryError(Exception):
    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def secret_parts(url: str) -> list[str]:
    """Every piece of `url` that may be a credential, longest first: the URL itself and
    each user, password, token, key or id in it. Host names and short words are kept
    so that a reason like "connection refused by 127.0.0.1" still says something."""
    rest = url.partition("://")[2]
    pieces = {url, rest} | set(re.split(r"[/@:?&=#,]", rest))
    return sorted(
        (p for p in pieces if len(p) >= 6 and not _HOST.fullmatch(p)), key=len, reverse=True
    )


def redact(text: str, url: str) -> str:
    for part in secret_parts(url):
        text = text.replace(part, "***")
    return text


def quote(text: str) -> str:
    """`text` as one URL query value (every reserved character escaped)."""
    return _quote(text, safe="")


def with_link(url: str, link: str) -> str:
    """`url` with `click=link` added, for a service that can open a link (and only if the
    configured URL does not choose its own click already); any other URL unchanged."""
    scheme, sep, _ = url.partition("://")
    if not link or not sep or scheme.lower() not in LINKABLE:
        return url
    query = url.partition("?")[2]
    if any(p.partition("=")[0].lower() == "click" for p in query.split("&")):
        return url
    return f"{url}{'&' if '?' in url else '?'}click={quote(link)}"


class _Complaints(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def send(url: str, title: str, body: str, level: str) -> None:
    """Send one message to one Apprise URL; raises DeliveryError with a redacted reason."""
    import apprise  # heavy: only in the process that sends

    kinds = {"info": apprise.NotifyType.INFO, "warn": apprise.NotifyType.WARNING,
             "urgent": apprise.NotifyType.FAILURE}  # fmt: skip
    logger = logging.getLogger("apprise")
    complaints = _Complaints()
    logger.addHandler(complaints)
    propagate, logger.propagate = logger.propagate, False  # its lines may quote the URL
    try:
        service = apprise.Apprise()
        if not service.add(url):
            raise DeliveryError("not a valid Apprise URL", permanent=True)
        if not service.notify(title=title, body=body, notify_type=kinds.get(level)):
            why = complaints.lines[-1] if complaints.lines else "the service did not accept it"
            raise DeliveryError(redact(why, url)[:300])
    finally:
        logger.removeHandler(complaints)
        logger.propagate = propagate
