"""The exports' header labels (meeting_server/export_labels.py): every column of every CSV
export has a label in each of the six UI languages, distinct from English where the language
writes another script, and the requester's language is chosen as documented."""

from __future__ import annotations

import pytest

from meeting_server import export_labels, exports, record_http
from meeting_server.ui_language import UI_LANGUAGES

SERIES_COLUMNS = ("member_state", "meetings", "present_s", "interventions", "speaking_s")
ALL_COLUMNS = {*exports.ATTENDANCE_COLUMNS, *exports.FLOOR_LOG_COLUMNS, *SERIES_COLUMNS,
               *(c for columns in record_http.TABLES.values() for c in columns)}


@pytest.mark.parametrize("language", UI_LANGUAGES)
def test_every_column_has_a_label_in_every_language(language: str) -> None:
    row = export_labels.header_row(sorted(ALL_COLUMNS), language)
    untranslated = [c for c, label in row.items() if label == c]
    assert untranslated == []
    for texts in [*export_labels.COLUMNS.values(), *export_labels.TRANSCRIPT.values()]:
        assert set(texts) == set(UI_LANGUAGES)
        assert texts[language].strip()
        if language in ("ar", "zh", "ru"):
            assert texts[language] != texts["en"] or texts["en"] == "No.", texts


def test_camel_case_keys_share_the_snake_case_label() -> None:
    row = export_labels.header_row(("memberState", "speakingS", "startedAt", "maxS"), "fr")
    assert row == {"memberState": "État Membre", "speakingS": "Temps de parole (s)",
                   "startedAt": "Début (UTC)", "maxS": "Attente maximale (s)"}


def test_no_language_named_keeps_the_keys() -> None:
    assert export_labels.requested(None, None, None) is None
    assert export_labels.requested(None, "", "") is None
    assert export_labels.header_row(("member_state", "x"), None) == {
        "member_state": "member_state", "x": "x"}


def test_query_then_cookie_then_accept_language() -> None:
    assert export_labels.requested("ar", "fr", "ru") == "ar"
    assert export_labels.requested(None, "fr", "ru") == "fr"
    assert export_labels.requested(None, None, "ru-RU, en;q=0.5") == "ru"
    assert export_labels.requested(None, "xx", "es") == "es"  # a stale cookie is passed over
    assert export_labels.requested(None, None, "de-CH") == "en"  # a browser: English labels
    for bad in ("", "de", "AR", "en-GB"):
        with pytest.raises(export_labels.LanguageError):
            export_labels.requested(bad, None, None)


def test_transcript_words() -> None:
    assert export_labels.transcript_words(None)["no-speaker"] == "(no speaker on the floor)"
    assert export_labels.transcript_words("zh") == {"title": "文字记录",
                                                    "no-speaker": "（无人发言）"}
