"""The strings of the captions, chat and record areas: all six UI languages, the same keys in
each, keys prefixed by the area, the same {placeholders} in every translation, and no key that
another area (core) already defines."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.requirements import require_binary

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
LANGUAGES = {"ar", "zh", "en", "fr", "ru", "es"}
AREAS = {"captions": "captions.", "chat": "chat.", "record": "record."}


def load(area: str) -> dict[str, dict[str, str]]:
    node = require_binary("node", "nodejs")
    script = (f"import m from {json.dumps(str(STATIC / 'messages' / (area + '.js')))};"
              "console.log(JSON.stringify(m));")
    out = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True,
                         text=True, check=True, timeout=30)
    return dict(json.loads(out.stdout))


@pytest.mark.parametrize("area", sorted(AREAS))
def test_area_is_complete_in_six_languages(area: str) -> None:
    messages = load(area)
    assert set(messages) == LANGUAGES
    english = messages["en"]
    core = set(load("core")["en"])
    for key in english:
        assert key.startswith(AREAS[area]), key
        assert key not in core, key
    for lang, table in messages.items():
        assert set(table) == set(english), (lang, set(english) ^ set(table))
        for key, text in table.items():
            assert text.strip(), (lang, key)
            assert set(re.findall(r"\{(\w+)\}", text)) == \
                set(re.findall(r"\{(\w+)\}", english[key])), (lang, key)


def test_areas_are_listed_in_i18n() -> None:
    source = (STATIC / "i18n.js").read_text()
    listed = re.search(r"const AREAS = \[([^\]]*)\]", source)
    assert listed is not None
    for area in AREAS:
        assert area in listed.group(1).replace(" ", "").split(","), area
        assert f'from "./messages/{area}.js"' in source
