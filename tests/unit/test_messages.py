"""The UI's message modules (web/static/messages/*.js), read by Node as the browser reads them:
every area module is listed in i18n.js's AREAS, has the six UI languages, every key of English
in every language (plural keys with every form the language's `Intl.PluralRules` produce),
the same placeholders, no untranslated English left in Arabic, Chinese or Russian.

Covers every module in the messages directory, so an area added later is checked too."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.requirements import require

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "web" / "static"
SCRIPT = Path(__file__).with_name("messages_report.mjs")


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    node = shutil.which("node")
    require(node is not None, "Node.js (apt-get install nodejs)")
    assert node is not None
    done = subprocess.run([node, str(SCRIPT), str(STATIC)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def _problems(report: dict[str, Any], *kinds: str) -> list[dict[str, Any]]:
    return [p for p in report["problems"] if p["kind"] in kinds]


def test_every_message_module_is_an_area_with_the_six_languages(report: dict[str, Any]) -> None:
    on_disk = sorted(f"messages/{p.name}" for p in (STATIC / "messages").glob("*.js"))
    assert report["modules"] == on_disk
    assert "messages/core.js" in on_disk
    assert report["areasListed"] >= len(on_disk)
    assert _problems(report, "not-in-areas", "missing-language", "unknown-language",
                     "ui-languages") == []


def test_every_key_exists_in_every_language(report: dict[str, Any]) -> None:
    assert _problems(report, "missing-key", "extra-key") == []


def test_plural_keys_have_every_form_of_each_language(report: dict[str, Any]) -> None:
    assert _problems(report, "missing-plural-form", "unused-plural-form",
                     "plural-and-plain") == []


def test_every_placeholder_survives_translation(report: dict[str, Any]) -> None:
    assert _problems(report, "placeholders") == []


def test_keys_are_prefixed_by_their_area_and_never_collide(report: dict[str, Any]) -> None:
    assert _problems(report, "key-prefix", "key-collision") == []


def test_no_english_left_in_arabic_chinese_or_russian(report: dict[str, Any]) -> None:
    assert _problems(report, "latin-in-translation") == []


def test_the_checker_finds_a_missing_key_and_a_lost_placeholder(tmp_path: Path) -> None:
    """The check itself can fail: a copy of the client with one Arabic key removed and one
    French placeholder renamed is reported."""
    node = shutil.which("node")
    require(node is not None, "Node.js (apt-get install nodejs)")
    assert node is not None
    copy = tmp_path / "static"
    shutil.copytree(STATIC, copy)
    core = copy / "messages" / "core.js"
    text = core.read_text(encoding="utf-8")
    arabic = text.index("  ar: {")
    text = text[:arabic] + text[arabic:].replace('    "floor.request": "طلب الكلمة",\n', "", 1)
    text = text.replace('"{name} a la parole"', '"{nom} a la parole"', 1)
    core.write_text(text, encoding="utf-8")
    done = subprocess.run([node, str(SCRIPT), str(copy)], capture_output=True, text=True,
                          timeout=60, check=True)
    problems = json.loads(done.stdout)["problems"]
    assert {"module": "messages/core.js", "kind": "missing-key", "lang": "ar",
            "key": "floor.request"} in problems
    assert any(p["kind"] == "placeholders" and p["lang"] == "fr" and p["key"] == "floor.announce"
               for p in problems)


PLURAL_PROBE = """
const { t, formatTime } = await import(process.argv[1]);
const out = {};
for (const lang of ["ar", "ru", "en", "zh", "fr"]) {
  globalThis.document = { documentElement: { lang } };
  out[lang] = [0, 1, 2, 3, 11, 100, 1234].map((count) => t("chair.mutedN", { count }));
}
globalThis.document = { documentElement: { lang: "ar" } };
out.arTime = formatTime(new Date(Date.UTC(2026, 11, 1, 14, 5, 9)));
out.arPosition = t("floor.position", { position: 3, total: 12 });
console.log(JSON.stringify(out));
"""


def test_t_picks_the_plural_form_and_formats_numbers_for_the_language() -> None:
    node = shutil.which("node")
    require(node is not None, "Node.js (apt-get install nodejs)")
    assert node is not None
    done = subprocess.run(
        [node, "--input-type=module", "-e", PLURAL_PROBE, (STATIC / "i18n.js").as_uri()],
        capture_output=True, text=True, timeout=60, check=True, env={"TZ": "UTC"})
    out = json.loads(done.stdout)
    ar = out["ar"]
    assert ar[0] == "لم يُكتم أي ميكروفون."  # zero
    assert ar[1] == "كُتم ميكروفون واحد."  # one
    assert ar[2] == "كُتم ميكروفونان."  # two
    assert ar[3] == "كُتمت 3 ميكروفونات."  # few, Western digits as the UN prints them
    assert ar[4] == "كُتم 11 ميكروفونًا."  # many
    assert ar[5] == "كُتم 100 ميكروفون."  # other
    ru = out["ru"]
    assert ru[1] == "Выключен 1 микрофон." and ru[3] == "Выключено 3 микрофона."
    assert ru[4] == "Выключено 11 микрофонов."
    assert out["en"][1] == "1 participant muted." and out["en"][6] == "1,234 participants muted."
    assert out["zh"][2] == "已将 2 位与会者静音。"
    assert out["fr"][6] == "1\u202f234 micros coupés."
    assert out["arTime"] == "14:05:09"
    assert out["arPosition"] == "ترتيبكم 3 من 12 في قائمة المتكلمين."
