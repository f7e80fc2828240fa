"""The configuration as a form: every field of config.py, grouped for the technician,
and the way back from submitted text to the TOML-shaped data `config.from_dict` checks.

Secrets are never put into the page: the terminal password field stays empty and push
target URLs show only their scheme; an empty secret field means "keep the current one".
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from .. import config
from ..terminal.registry import names

MASK = "******"
ALL = None  # every field of the section, also one added later

# Changing any of these needs the admin password typed again, so that a session left open
# (or stolen) cannot move money or messages: whether and when the guard settles, where
# alarms, reports and the terminal password go, where the page listens, where data lives.
GATED: dict[str, tuple[str, ...] | None] = {
    "terminal": ALL,  # the link: the port receives the terminal password
    # mode, time, last call, retries: when money is settled
    "settle": ("mode", "at", "last_call", "retry_minutes", "max_attempts"),
    "schedule": ("cutoff", "timezone", "trading_days"),  # past the cutoff a batch settles
    # a batch this large, or its oldest sale this old, settles at once
    "warnings": ("batch_limit", "auth_age_hours"),
    "notify": ALL,  # where messages go (and what the push test reaches)
    "web": ALL,  # where the page listens
    "store": ALL,  # where the guard keeps its data
    "fleet": ALL,  # where state goes, and whether a broker may settle
}
# The rest, named one by one: a field in neither table fails the tests.
NOT_GATED: dict[str, tuple[str, ...] | None] = {
    "schedule": ("opening", "closing"),
    "settle": ("sign_in_at_opening",),  # signs the terminal in: moves no money
    "warnings": ("amber_minutes", "red_minutes", "stale_after_failures", "dead_after_minutes",
                 "clock_drift_seconds", "set_terminal_clock"),
    "poll": ALL,
    "panel": ALL,
    "calendar": ALL,
}  # fmt: skip

# (text key of the group, [(section, only these fields or None for all)])
GROUPS: tuple[tuple[str, tuple[tuple[str, tuple[str, ...] | None], ...]], ...] = (
    ("g-terminal", (("terminal", None),)),
    ("g-schedule", (("schedule", None),)),
    ("g-policy", (("warnings", None), ("settle", None), ("poll", None))),
    (
        "g-panel",
        (
            (
                "panel",
                tuple(f.name for f in dataclasses.fields(config.PanelConfig) if f.name != "locale"),
            ),
        ),
    ),
    ("g-notify", (("notify", None),)),
    ("g-calendar", (("calendar", None),)),
    ("g-locale", (("panel", ("locale",)),)),
    ("g-system", (("store", None), ("web", None))),
    ("g-fleet", (("fleet", None),)),
)

# A field's kind comes from its schema: `kind` and `choices` in its metadata (config.py),
# else its annotation. The protocol list lives in the registry.
CHOICES = {("terminal", "protocol"): names()}
KINDS = {
    "bool": "bool",
    "int": "int",
    "time": "time",
    "time | None": "opt-time",
    "str": "text",
    "tuple[str, ...]": "weekdays",
    "tuple[date, ...]": "dates",
    "tuple[Target, ...]": "targets",
}
NO_WORDS = ("", "")


@dataclass
class Field:
    section: str
    name: str
    kind: str  # bool int time opt-time text choice secret weekdays dates words targets
    value: Any  # what the input shows
    choices: tuple[str, ...] = ()
    label: tuple[str, str] = NO_WORDS  # (English, Chinese), from the schema
    help: tuple[str, str] = NO_WORDS

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"

    def words(self, lang: str) -> tuple[str, str]:
        """(label, help) in `lang`; the TOML name where the schema has no label."""
        zh = 1 if lang == "zh-CN" else 0
        return self.label[zh] or f"{self.section}.{self.name}", self.help[zh]


def _kind(section: str, f: dataclasses.Field[Any]) -> str:
    if f.metadata.get("secret") and f.type == "str":
        return "secret"
    if (section, f.name) in CHOICES or "choices" in f.metadata:
        return "choice"
    return f.metadata.get("kind") or KINDS.get(str(f.type), "text")


def _choices(section: str, f: dataclasses.Field[Any]) -> tuple[str, ...]:
    return CHOICES.get((section, f.name)) or f.metadata.get("choices", ())


def _shown(value: Any, kind: str) -> Any:
    if kind == "targets":
        return [
            {"url": config.mask_url(t.url), "min_level": t.min_level, "lang": t.lang} for t in value
        ]
    if kind == "secret":
        return ""
    if kind in ("time", "opt-time"):
        return value.strftime("%H:%M") if value else ""
    if kind == "dates":
        return " ".join(d.isoformat() for d in value)
    if kind == "words":
        return " ".join(value)
    if kind == "weekdays":
        return list(value)
    return value


def _section(cfg: config.Config, section: str) -> list[tuple[Any, Field]]:
    """(value, field) of each field of `section`, described by the schema; the terminal's
    `options` are its protocol's own fields, as its registry entry describes them."""
    part = getattr(cfg, section)
    out = []
    for f in dataclasses.fields(part):
        if section == "terminal" and f.name == "options":
            settings = config.protocol_of(part.protocol).settings
            values = part.settings().values()
            out.extend(
                (value, Field(section, s.name, s.kind, None, s.choices, s.label, s.help))
                for s, value in zip(settings, values, strict=True)
            )
        else:
            meta = f.metadata
            kind, choices = _kind(section, f), _choices(section, f)
            field = Field(section, f.name, kind, None, choices,
                          meta.get("label", NO_WORDS), meta.get("help", NO_WORDS))  # fmt: skip
            out.append((getattr(part, f.name), field))
    return out


def words(cfg: config.Config, key: str, lang: str) -> tuple[str, str]:
    """(label, help) of the field `section.name` in `lang`, from the schema."""
    section, _, name = key.partition(".")
    return next(f for _, f in _section(cfg, section) if f.name == name).words(lang)


def groups(
    cfg: config.Config, form: MultiDict[str, str] | None = None
) -> list[tuple[str, list[Field]]]:
    """The form's fields, showing `cfg`, or what was typed (`form`) after an error."""
    out = []
    for title, parts in GROUPS:
        fields = []
        for section, only in parts:
            for raw, field in _section(cfg, section):
                if only is not None and field.name not in only:
                    continue
                field.value = _shown(raw, field.kind)
                if form is not None and field.kind not in ("secret", "targets"):
                    field.value = _typed(form, field)
                fields.append(field)
        out.append((title, fields))
    return out


def _typed(form: MultiDict[str, str], field: Field) -> Any:
    if field.kind == "bool":
        return field.key in form
    if field.kind == "weekdays":
        return form.getlist(field.key)
    return form.get(field.key, "")


def to_data(form: MultiDict[str, str], current: config.Config) -> dict[str, Any]:
    """Submitted text to TOML-shaped data: the current config with the form's fields over it."""
    data = tomllib.loads(config.dumps(current))
    for _, fields in groups(current):
        for field in fields:
            section = data.setdefault(field.section, {})
            if field.kind == "targets":
                section[field.name] = _targets(form, current.notify.targets)
            elif field.kind == "secret":
                if form.get(field.key, ""):
                    section[field.name] = form[field.key]
            elif field.kind == "int":
                raw = form.get(field.key, "").strip()
                # Few digits (full-width ones from a Chinese IME too): int() raises on 4,300
                # or more (a 500); longer stays text, and the field says it is not a number.
                section[field.name] = int(raw) if re.fullmatch(r"-?\d{1,18}", raw) else raw
            elif field.kind in ("dates", "words"):
                section[field.name] = form.get(field.key, "").replace(",", " ").split()
            elif field.kind == "opt-time" and not form.get(field.key, "").strip():
                section.pop(field.name, None)
            else:
                value = _typed(form, field)
                section[field.name] = value.strip() if isinstance(value, str) else value
    terminal = data.get("terminal", {})
    config.keep_only_fields_of(terminal, str(terminal.get("protocol", "")))
    return data


def _targets(form: MultiDict[str, str], current: tuple[config.Target, ...]) -> list[dict[str, str]]:
    targets = []
    for i, old in enumerate(current):
        if f"target.{i}.delete" in form:
            continue
        url = form.get(f"target.{i}.url", "").strip()
        targets.append(
            {
                "url": url if url and MASK not in url else old.url,
                "min_level": form.get(f"target.{i}.min_level", old.min_level),
                "lang": form.get(f"target.{i}.lang", old.lang),
            }
        )
    new = form.get("target.new.url", "").strip()
    if new:
        targets.append(
            {
                "url": new,
                "min_level": form.get("target.new.min_level", "warn"),
                "lang": form.get("target.new.lang", ""),
            }
        )
    return targets


def error_map(exc: config.ConfigError) -> dict[str, str]:
    """'[section] name' -> 'section.name' (the first problem per field)."""
    out: dict[str, str] = {}
    for e in exc.errors:
        m = re.fullmatch(r"\[(\w+)\](?: (\w+))?", e.field)
        key = f"{m.group(1)}.{m.group(2)}" if m and m.group(2) else (m.group(1) if m else e.field)
        out.setdefault(key, e.message)
    return out


def listed(table: dict[str, tuple[str, ...] | None], section: str, name: str) -> bool:
    if section not in table:
        return False
    names = table[section]
    return names is ALL or name in names


def gated_changes(old: config.Config, new: config.Config) -> list[str]:
    """The gated fields (section.name) that differ between `old` and `new`."""
    changed = []
    for section in GATED:
        before = {name: value for name, value, _ in config.section_fields(old, section)}
        after = {name: value for name, value, _ in config.section_fields(new, section)}
        for name in [*before, *(n for n in after if n not in before)]:
            if listed(GATED, section, name) and before.get(name) != after.get(name):
                changed.append(f"{section}.{name}")
    return changed


def fill_masked(data: dict[str, Any], current: config.Config) -> str | None:
    """A restored backup without secrets keeps this guard's; returns the target number whose
    secret is missing and cannot be taken from here, if any."""
    terminal = data.get("terminal")
    if (
        isinstance(terminal, dict)
        and terminal.get("protocol", config.TerminalConfig.protocol) == current.terminal.protocol
    ):
        here = current.terminal.settings()
        for s in config.protocol_of(current.terminal.protocol).settings:
            if s.secret and terminal.get(s.name) == MASK:
                terminal[s.name] = here[s.name]
    notify = data.get("notify")
    targets = notify.get("targets") if isinstance(notify, dict) else None
    for n, item in enumerate(targets if isinstance(targets, list) else [], 1):
        if isinstance(item, dict) and MASK in str(item.get("url", "")):
            scheme = str(item["url"]).partition("://")[0]
            here = current.notify.targets[n - 1] if n <= len(current.notify.targets) else None
            if here is None or not here.url.startswith(scheme + "://"):
                return str(n)
            item["url"] = here.url
    return None
