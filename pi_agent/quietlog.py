"""Keeping the log readable and the SD card whole: a repeated failure is said once.

A guard that logs every poll writes tens of thousands of lines a day; the technician
then finds nothing in them, and the card wears. The rule: every state change,
settlement, alarm and error gets one clear line; a failure that repeats gets a line
when it starts, when its cause changes and when it ends, never once per try.
"""

from __future__ import annotations

import logging

# Loggers of libraries that say "job executed successfully" on every tick: warnings only.
CHATTY = ("apscheduler",)


def quiet_libraries() -> None:
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)


class OncePerCause:
    """Remembers the last cause said per topic (a target, "poll", ...)."""

    def __init__(self) -> None:
        self._said: dict[str, str] = {}

    def new(self, topic: str, cause: str) -> bool:
        """True if `cause` is not what was said last for `topic` (then it is said now)."""
        if self._said.get(topic) == cause:
            return False
        self._said[topic] = cause
        return True

    def ended(self, topic: str) -> bool:
        """The trouble of `topic` is over; True if there was one to say so about."""
        return self._said.pop(topic, None) is not None
