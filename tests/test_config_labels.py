"""Every configuration field, and every protocol's own `[terminal]` field, has a label and a
one-line help in English and Chinese: the page needs no manual."""

from __future__ import annotations

import dataclasses

import pytest

from pi_agent import config
from pi_agent.terminal import registry

HELP_MAX = 120


def schema_fields() -> list[tuple[str, str, dict]]:
    """(section, name, metadata) of every field the file can hold."""
    out = []
    for section in config.PARSERS:
        for f in dataclasses.fields(config._SECTION_CLASSES[section]):
            if (section, f.name) != ("terminal", "options"):
                out.append((section, f.name, dict(f.metadata)))
    for name in registry.names():
        for s in registry.get(name).settings:
            out.append((f"terminal/{name}", s.name, {"label": s.label, "help": s.help}))
    return out


def problems(words: dict) -> list[str]:
    found = []
    for part in ("label", "help"):
        pair = words.get(part)
        if not (isinstance(pair, tuple) and len(pair) == 2):
            found.append(f"no {part} (English, Chinese)")
            continue
        for lang, text in zip(("en", "zh"), pair, strict=True):
            if not isinstance(text, str) or not text.strip():
                found.append(f"no {lang} {part}")
            elif "\n" in text or len(text) > HELP_MAX:
                found.append(f"{lang} {part} is not one line of at most {HELP_MAX} characters")
    zh = "".join(words.get("label", ("", ""))[1:] + words.get("help", ("", ""))[1:])
    if zh and not any("\u4e00" <= c <= "\u9fff" for c in zh):
        found.append("the Chinese words have no Chinese in them")
    return found


@pytest.mark.parametrize(("section", "name", "words"), schema_fields(),
                         ids=lambda v: v if isinstance(v, str) else "")  # fmt: skip
def test_every_field_has_a_label_and_one_line_help_in_both_languages(section, name, words):
    assert problems(words) == [], f"[{section}] {name}"


def test_the_check_catches_what_is_missing() -> None:
    assert problems({}) == ["no label (English, Chinese)", "no help (English, Chinese)"]
    bad = {"label": ("Port", ""), "help": ("two\nlines", "x" * 121)}
    assert problems(bad) == ["no zh label", "en help is not one line of at most 120 characters",
                             "zh help is not one line of at most 120 characters",
                             "the Chinese words have no Chinese in them"]  # fmt: skip


def test_the_schema_covers_every_parsed_field() -> None:
    """A field the file parses but the schema misses would go without words."""
    listed = {(s, n) for s, n, _ in schema_fields()}
    for section, parsers in config.PARSERS.items():
        assert {(section, name) for name in parsers} <= listed
