"""The pure parts of documents/: numbers, register rules, sniffing, normalisation, snippets,
paragraph placement and the presenter's rules."""

from __future__ import annotations

import io
import zipfile

import pytest

from documents import presenter, register
from documents.formats import FileRejected, display_name, sniff
from documents.normalise import Normaliser, fold_arabic, snippet
from documents.presenter import PresenterError, Screen, Showing
from documents.register import RegisterError, Version
from documents.text import clean_pdf_text, place_paragraphs


@pytest.mark.parametrize(("text", "canonical", "kind"), [
    ("TD 123 (PLEN/13)", "TD 123 (PLEN/13)", "temporary-document"),
    ("td123(plen/13)", "TD 123 (PLEN/13)", "temporary-document"),
    ("C 45", "C 45", "contribution"),
    (" ls 7 (wp1/16) ", "LS 7 (WP1/16)", "liaison-statement"),
])
def test_document_numbers(text: str, canonical: str, kind: str) -> None:
    number = register.parse_number(text)
    assert (str(number), number.kind) == (canonical, kind)


@pytest.mark.parametrize("text", ["", "TD", "X 12", "TD 123 (PLEN)", "C 123456", "C 4 5"])
def test_bad_document_numbers(text: str) -> None:
    with pytest.raises(RegisterError) as err:
        register.parse_number(text)
    assert err.value.code == "bad-request"


def version(language: str, revision: int) -> Version:
    return Version(f"{language}{revision}", "d", language, revision, "pdf", "f.pdf", 1, "h", 1,
                   "x", "chair", 0.0)


def test_revisions_supersede_per_language_and_both_stay() -> None:
    versions = [version("en", 0), version("en", 1), version("fr", 0)]
    assert register.superseded_ids(versions) == {"en0"}
    register.next_revision_ok(versions, "en", 2)
    register.next_revision_ok(versions, "ar", 1)  # a translation may arrive as Rev.1
    for language, revision, code in [("en", 1, "conflict"), ("en", 0, "conflict"),
                                     ("de", 0, "bad-request"), ("en", 99, "bad-request")]:
        with pytest.raises(RegisterError) as err:
            register.next_revision_ok(versions, language, revision)
        assert err.value.code == code


def test_who_may_submit() -> None:
    c = register.parse_number("C 1")
    assert register.check_submission("secretariat", c) == "published"
    assert register.check_submission("delegate", c) == "submitted"
    for role, number in [("delegate", "TD 1"), ("observer", "C 1"), ("interpreter", "C 1")]:
        with pytest.raises(RegisterError):
            register.check_submission(role, register.parse_number(number))


def test_sniffing_by_content() -> None:
    assert sniff(b"%PDF-1.7 ...", "a.pdf").file_type == "pdf"
    assert sniff(b"%PDF-1.7 ...", "no-extension").file_type == "pdf"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    assert sniff(buf.getvalue(), "a.odt").file_type == "odt"
    encrypted = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le")
    with pytest.raises(FileRejected) as err:
        sniff(encrypted, "locked.docx")
    assert err.value.code == "encrypted"


def test_display_names_are_never_paths() -> None:
    assert display_name("../../etc/passwd.pdf") == "passwd.pdf"
    assert display_name("C:\\Users\\x\\TD 12.docx") == "TD 12.docx"
    assert display_name("a\x00b\n.pdf") == "ab.pdf"
    assert display_name("///") == "document"


def test_arabic_folding_and_forms() -> None:
    assert fold_arabic("المُقَسِّم") == "المقسم"
    assert fold_arabic("أإآٱ") == "اااا"
    assert fold_arabic("مستوى") == fold_arabic("مستوي")
    assert fold_arabic("الشبكة") == "الشبكه"
    assert fold_arabic("ـــشبكة") == "شبكه"  # tatweel
    n = Normaliser()
    assert n.word_forms("والشبكة", None) == {"والشبكه", "شبكه"}
    # PDFium's lam-alef: "األعضاء" and "خالل" out of a PDF match الأعضاء and خلال
    assert n.word_forms("األعضاء", None) == n.word_forms("الأعضاء", None)
    assert n.word_forms("خالل", None) == n.word_forms("خلال", None)
    assert "اعضاء" in n.word_forms("األعضاء", None)


def test_latin_and_cyrillic_forms() -> None:
    n = Normaliser()
    assert n.word_forms("Réseaux", "fr") & n.word_forms("réseau", "fr")
    # stems are compared within one language only
    assert not n.word_forms("débit", None) & n.word_forms("debería", None)
    assert n.word_forms("ёлка", "ru") & n.word_forms("ЕЛКА", "ru")
    assert n.word_forms("сетями", "ru") & n.word_forms("сеть", None)
    assert "2026" in n.word_forms("2026", None)


def test_chinese_terms_and_queries() -> None:
    n = Normaliser()
    terms = n.index_terms("电信标准化部门 ITU-T", "zh").split()
    assert "标准化" in terms and "itu" in terms
    query = n.query("标准化部门", "zh")
    assert query.han == ["标准化部门"] and query.words
    # query syntax is never passed through: OR, quotes and stars become quoted words
    fts = n.query('net" OR x*', "en").fts()
    groups = fts.split(" AND ")
    assert len(groups) == 3 and all(g.startswith('("') and g.endswith('")') for g in groups)
    assert "*" not in fts and groups[1] == '("en:or" OR "or")', fts


def test_snippet_segments_mark_matches() -> None:
    text = "word " * 30 + "the optical splitter " + "tail " * 60
    start = text.index("optical")
    segments = snippet(text, [(start, start + 7)])
    assert [s["text"] for s in segments if s["match"]] == ["optical"]
    assert segments[0]["text"] == "…" and segments[-1]["text"] == "…"
    assert snippet("short", []) == [{"text": "short", "match": False}]


def test_pdf_text_clean_up_and_paragraph_placement() -> None:
    assert clean_pdf_text("two\ufffefactor\x05 x\r\n") == "two-factor x\n"
    assert clean_pdf_text("مساهمات من األعضاء") == "مساهمات من الأعضاء"
    pages = ["alpha beta gamma", "delta epsilon", "zeta eta theta"]
    placed = place_paragraphs(pages, ["alpha beta", "epsilon delta", "unknown words",
                                      "theta zeta"])
    assert placed == [["alpha beta"], ["epsilon delta", "unknown words"], ["theta zeta"]]


def test_presenter_rules() -> None:
    screen = Screen()
    assert presenter.may_present(screen, "secretariat", "s1")
    assert not presenter.may_present(screen, "delegate", "d1")
    shown = presenter.show(screen, "c1", Showing("d", "v", 2, 5))
    assert shown.seq == 1 and shown.showing is not None and shown.showing.page == 2
    with pytest.raises(PresenterError):
        presenter.show(screen, "c1", Showing("d", "v", 6, 5))
    with pytest.raises(PresenterError) as err:
        presenter.give(shown, "chair", "d1", "delegate", speaker="d2")
    assert err.value.code == "conflict"
    with pytest.raises(PresenterError):
        presenter.give(shown, "secretariat", "d1", "delegate", speaker="d1")
    given = presenter.give(shown, "chair", "d1", "delegate", speaker="d1")
    assert presenter.may_present(given, "delegate", "d1")
    assert presenter.floor_moved(given, "d1") is given
    assert not presenter.may_present(presenter.floor_moved(given, None), "delegate", "d1")
    restored = Screen.from_json(shown.to_json())
    assert restored.showing == shown.showing and restored.seq == shown.seq
    # the presenter right the chair gave is kept with the screen (a restart reads it back)
    assert Screen.from_json(given.to_json()) == given


def test_proceedings_index_catches_up_once_and_follows_corrections() -> None:
    import sqlite3

    from documents.proceedings import SCHEMA as LINES_SCHEMA
    from documents.proceedings import catch_up, search_lines
    from meeting_server.captions_store import SCHEMA as CAPTIONS_SCHEMA
    from meeting_server.store import SCHEMA as MEETING_SCHEMA

    db = sqlite3.connect(":memory:", isolation_level=None)
    for schema in (MEETING_SCHEMA, CAPTIONS_SCHEMA, LINES_SCHEMA):
        db.executescript(schema)
    n = Normaliser()
    add = ("INSERT INTO captions (meeting_id, language, started_at, at, text, speaker_name,"
           " speaker_member_state, source) VALUES (?, ?, 1, 1, ?, 'Ana', 'Peru', 'console')")
    db.execute(add, ("m1", "fr", "Les réseaux optiques passifs."))
    db.execute(add, ("m2", "ar", "ناقشَ الاجتماعُ التوقيعَ الرقميَّ"))
    db.execute("INSERT INTO floor_log (meeting_id, at, event, participant_id, name, note)"
               " VALUES ('m1', 2, 'request', 'p1', 'Ana', 'Question 4/13')")
    db.execute("INSERT INTO floor_log (meeting_id, at, event, participant_id, name,"
               " member_state) VALUES ('m1', 3, 'intervention-start', 'p1', 'Ana', 'Peru')")
    assert catch_up(db, n, batch=1) == 2  # a caption and the request (not a line)
    assert db.execute("SELECT COUNT(*) FROM search_lines").fetchone() == (1,)
    assert catch_up(db, n, batch=1) == 2 and catch_up(db, n) == 0  # the rest, then nothing
    assert db.execute("SELECT COUNT(*) FROM search_lines").fetchone() == (3,)
    assert [h["source"] for h in search_lines(db, n, "question 4/13", ("m1",))] == ["floor"]
    assert search_lines(db, n, "التوقيع", ("m1",)) == []  # another meeting's line
    assert [h["language"] for h in search_lines(db, n, "التوقيع", ("m1", "m2"))] == ["ar"]
    db.execute("UPDATE captions SET text = 'Les réseaux actifs.', revised_at = 5 WHERE id = 1")
    assert catch_up(db, n) == 1
    assert search_lines(db, n, "passifs", ("m1",)) == []
    assert [h["id"] for h in search_lines(db, n, "actif", ("m1",))] == [1]
    assert db.execute("SELECT COUNT(*) FROM search_lines").fetchone() == (3,)
