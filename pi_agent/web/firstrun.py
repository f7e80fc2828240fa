"""The first run's short setup, after the password: language, time zone, country or region
(its holidays and its currency follow), terminal protocol and port.

The choices are offered here and the answers become the same TOML-shaped data the settings
page submits: `config.from_dict` checks them, the settings page's gated, atomic save
writes them.
"""

from __future__ import annotations

import glob
import os
import tomllib
from typing import Any

from .. import config

# Country or region: (its currency, English name, Chinese name). Each has a holiday calendar.
COUNTRIES: dict[str, tuple[str, str, str]] = {
    "CN": ("CNY", "China (mainland)", "中国大陆"), "HK": ("HKD", "Hong Kong", "中国香港"),
    "TW": ("TWD", "Taiwan", "中国台湾"), "SG": ("SGD", "Singapore", "新加坡"),
    "JP": ("JPY", "Japan", "日本"), "DE": ("EUR", "Germany", "德国"),
    "AT": ("EUR", "Austria", "奥地利"), "CH": ("CHF", "Switzerland", "瑞士"),
    "FR": ("EUR", "France", "法国"), "IT": ("EUR", "Italy", "意大利"),
    "ES": ("EUR", "Spain", "西班牙"), "NL": ("EUR", "Netherlands", "荷兰"),
    "GB": ("GBP", "United Kingdom", "英国"), "US": ("USD", "United States", "美国"),
    "CA": ("CAD", "Canada", "加拿大"), "AU": ("AUD", "Australia", "澳大利亚"),
}  # fmt: skip
SERIAL_BY_ID = "/dev/serial/by-id/*"


def country_of(accept_language: str, fallback: str) -> str:
    """The first region the browser names that we know (zh-CN: CN, de-DE: DE), else
    `fallback`; a bare zh means mainland China."""
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip()
        region = tag.partition("-")[2].upper()
        if region in COUNTRIES:
            return region
        if tag.lower() == "zh":
            return "CN"
    return fallback


def ports(cfg: config.Config, by_id: str = SERIAL_BY_ID) -> list[str]:
    """Where a terminal may be: each USB serial adapter by its stable name, and the
    configured port (the simulator's pty link is one) if it is there."""
    found = sorted(glob.glob(by_id))
    current = cfg.terminal.port
    if current not in found and (current.startswith("socket://") or os.path.exists(current)):
        found.append(current)
    return found


def answers(values: dict[str, str], current: config.Config) -> dict[str, Any]:
    """The answers (section.name: text) over the current config, as TOML-shaped data."""
    data = tomllib.loads(config.dumps(current))
    for key, value in values.items():
        section, _, name = key.partition(".")
        data.setdefault(section, {})[name] = value
    country = values.get("calendar.country", current.calendar.country)
    if country != current.calendar.country:
        data["calendar"]["subdivision"] = ""  # a state of the old country means nothing here
        data["calendar"]["financial"] = ""
    if country in COUNTRIES:
        data["terminal"]["currency"] = COUNTRIES[country][0]
    config.keep_only_fields_of(data["terminal"], str(data["terminal"].get("protocol", "")))
    return data
