"""Argument types shared by the command lines: each rejects a bad value with one clear line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn

from .money import currency_numeric

EXIT_USAGE = 2
BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


class Parser(argparse.ArgumentParser):
    """Bad arguments get one line that says what is wrong, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see --help)\n")


def password(text: str) -> str:
    if len(text) != 6 or not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError("must be 6 digits, as set in the terminal")
    return text


def terminal_id(text: str) -> str:
    if len(text) != 8 or not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError("must be 8 digits")
    return text


def _number(text: str, what: str, ok: Callable[[float], bool], rule: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not ok(value):  # NaN fails every rule too
        raise argparse.ArgumentTypeError(f"{text!r}: {rule}")
    return value


def seconds(text: str) -> float:
    return _number(text, "a number of seconds", lambda v: 0 < v <= 600,
                   "must be between 0 and 600 seconds")  # fmt: skip


def non_negative(text: str) -> float:
    return _number(text, "a number", lambda v: v >= 0, "must not be negative")


def percent(text: str) -> float:
    return _number(text, "a number", lambda v: 0 <= v < 100, "must be from 0 to below 100")


def currency(text: str) -> int:
    try:
        return currency_numeric(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def baud(text: str) -> int:
    if not text.isdigit() or int(text) not in BAUD_RATES:
        raise argparse.ArgumentTypeError(f"{text!r} is not a supported speed (e.g. 9600, 115200)")
    return int(text)
