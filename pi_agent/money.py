"""Amounts in minor units and ISO 4217 numeric currency codes, as terminals report them."""

from __future__ import annotations

# numeric code -> (alpha code, decimal places); the currencies our terminals are sold for.
CURRENCIES: dict[int, tuple[str, int]] = {
    36: ("AUD", 2), 124: ("CAD", 2), 156: ("CNY", 2), 203: ("CZK", 2), 208: ("DKK", 2),
    344: ("HKD", 2), 348: ("HUF", 2), 392: ("JPY", 0), 410: ("KRW", 0), 446: ("MOP", 2),
    458: ("MYR", 2), 578: ("NOK", 2), 643: ("RUB", 2), 702: ("SGD", 2), 710: ("ZAR", 2),
    752: ("SEK", 2), 756: ("CHF", 2), 764: ("THB", 2), 784: ("AED", 2), 826: ("GBP", 2),
    840: ("USD", 2), 901: ("TWD", 2), 941: ("RSD", 2), 946: ("RON", 2), 949: ("TRY", 2),
    975: ("BGN", 2), 978: ("EUR", 2), 985: ("PLN", 2),
}  # fmt: skip
_BY_ALPHA = {alpha: num for num, (alpha, _) in CURRENCIES.items()}


def currency_alpha(numeric: int) -> str:
    return CURRENCIES.get(numeric, (f"{numeric:03d}", 2))[0]


def currency_numeric(code: str | int) -> int:
    """Accept 'EUR', 'eur', '978' or 978; ValueError names the bad value."""
    if isinstance(code, int) or code.isdigit():
        value = int(code)
        if not 0 < value < 1000:
            raise ValueError(f"currency code {code!r} is not an ISO 4217 number (1-999)")
        return value
    try:
        return _BY_ALPHA[code.upper()]
    except KeyError:
        raise ValueError(
            f"unknown currency {code!r} (use e.g. EUR, CNY or the ISO number)"
        ) from None


def decimals(numeric: int) -> int:
    return CURRENCIES.get(numeric, ("", 2))[1]


def format_minor(minor: int, numeric: int) -> str:
    """'77.84' for 7784 in EUR; '7784' for JPY."""
    places = decimals(numeric)
    if places == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}"


def format_amount(minor: int, numeric: int) -> str:
    return f"{format_minor(minor, numeric)} {currency_alpha(numeric)}"


def parse_amount(text: str, numeric: int = 978) -> int:
    """'12.50' -> 1250 minor units; ValueError says what is wrong."""
    places = decimals(numeric)
    raw = text.strip()
    whole, _, frac = raw.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > places:
        raise ValueError(f"amount {text!r} is not a number with at most {places} decimals")
    return int(whole) * 10**places + int(frac.ljust(places, "0") or 0)


# alpha code -> (symbol, written after the amount); the rest show their alpha code before it
SYMBOLS: dict[str, tuple[str, bool]] = {
    "EUR": ("€", False), "USD": ("$", False), "GBP": ("£", False), "CNY": ("¥", False),
    "JPY": ("¥", False), "KRW": ("₩", False), "HKD": ("HK$", False), "TWD": ("NT$", False),
    "SGD": ("S$", False), "AUD": ("A$", False), "CAD": ("C$", False), "MOP": ("MOP$", False),
    "MYR": ("RM", False), "THB": ("฿", False), "TRY": ("₺", False), "RUB": ("₽", False),
    "ZAR": ("R", False), "CHF": ("CHF ", False), "AED": ("AED ", False), "RSD": ("RSD ", False),
    "PLN": (" zł", True), "CZK": (" Kč", True), "HUF": (" Ft", True), "RON": (" lei", True),
    "BGN": (" лв", True), "SEK": (" kr", True), "NOK": (" kr", True), "DKK": (" kr", True),
}  # fmt: skip


def currency_symbol(numeric: int) -> str:
    """'€' for EUR, '¥' for CNY, 'CHF' for CHF; the alpha code where there is no symbol."""
    return SYMBOLS.get(currency_alpha(numeric), (currency_alpha(numeric), False))[0].strip()


def format_money(minor: int, numeric: int, *, grouping: bool = True, whole: bool = False) -> str:
    """The amount with its currency symbol, as a person reads it: '€1,234.50', '¥88.00',
    'CHF 12.50', '12.50 zł'. `whole` rounds to whole units (half up, away from zero) for a
    line too short for the cents: '€1,235'."""
    places = 0 if whole else decimals(numeric)
    unit = 10 ** decimals(numeric)
    sign = "-" if minor < 0 else ""
    magnitude = abs(minor)
    if whole:
        magnitude = (magnitude + unit // 2) // unit
        text = f"{magnitude:,}" if grouping else str(magnitude)
    else:
        units, frac = divmod(magnitude, unit)
        text = f"{units:,}" if grouping else str(units)
        if places:
            text += f".{frac:0{places}d}"
    alpha = currency_alpha(numeric)
    symbol, after = SYMBOLS.get(alpha, (f"{alpha} ", False))
    return f"{sign}{text}{symbol}" if after else f"{sign}{symbol}{text}"


def format_money_short(minor: int, numeric: int, digits: int = 3) -> str:
    """`digits` significant digits and k, M or B (a thousand million), for a line with no
    room for the whole amount: '€1.23M', '€45.7k', '¥999'."""
    units = abs(minor) / 10 ** decimals(numeric)
    sign = "-" if minor < 0 else ""
    text = f"{units:.0f}"
    for suffix, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if units >= scale * (1 - 0.5 * 10**-digits):
            text = f"{units / scale:.{digits}g}{suffix}"
            break
    alpha = currency_alpha(numeric)
    symbol, after = SYMBOLS.get(alpha, (f"{alpha} ", False))
    return f"{sign}{text}{symbol}" if after else f"{sign}{symbol}{text}"
