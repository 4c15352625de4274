"""The server's choice of UI language (meeting_server/ui_language.py): cookie, then
Accept-Language by quality, then English; direction; the server's texts in six languages."""

from __future__ import annotations

import pytest

from meeting_server import ui_language


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        ("ar", "fr-FR,fr;q=0.9", "ar"),  # the participant's choice wins
        ("xx", "ru-RU,ru;q=0.9,en;q=0.5", "ru"),  # an unknown cookie is ignored
        (None, "de-DE,de;q=0.9,zh-CN;q=0.8,en;q=0.7", "zh"),  # the first UI language offered
        (None, "en;q=0.2, es-419;q=0.8", "es"),  # by quality, not by order
        (None, "fr;q=0, es;q=0.1", "es"),  # q=0 means "not this one"
        (None, "de, it", "en"),  # none offered: English
        (None, "", "en"),
        (None, None, "en"),
        (None, "zh-Hant-TW", "zh"),
        (None, "fr;q=abc, ar", "ar"),  # a malformed weight counts as 0
    ],
)
def test_choose(cookie: str | None, header: str | None, expected: str) -> None:
    assert ui_language.choose(cookie, header) == expected


def test_direction() -> None:
    assert ui_language.direction("ar") == "rtl"
    assert [ui_language.direction(lang) for lang in ("zh", "en", "fr", "ru", "es")] == ["ltr"] * 5


def test_every_server_text_exists_in_every_ui_language() -> None:
    for key, texts in ui_language.TEXTS.items():
        assert set(texts) == set(ui_language.UI_LANGUAGES), key
        assert all(text.strip() for text in texts.values()), key
    assert ui_language.text("no-such-meeting", "ar").startswith("لا يوجد اجتماع")
    assert ui_language.text("no-such-meeting", "xx") == ui_language.TEXTS["no-such-meeting"]["en"]
