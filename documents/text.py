"""A page's text: what PDFium gives (cleaned), and the source text of an Office original
placed on the pages it appears on.

PDFium's text of a LibreOffice-made PDF has a few faults (TESTING.md): a line-end hyphen comes
back as U+FFFE, justified Arabic carries U+0005, and Arabic words with diacritics may be split
and reordered. Where the original is a DOCX, its paragraphs are exact: each is put on the page
whose PDF text shares the most words with it, and that page is indexed from them.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

# PDFium gives the lam-alef ligature back as alef-lam: after the article, "الأعضاء" comes
# back as "األعضاء"; an alef then another alef and lam at a word's start never occurs in Arabic.
_ALEF_LAM_SWAP = re.compile(r"(?<![\w\u064b-\u065f])ا([اأإآ])ل")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"\w+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ARABIC_MARKS = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")


def clean_pdf_text(text: str) -> str:
    """Map PDFium's artefacts back: U+FFFE (a hyphen at a line end) to '-', the article's
    swapped lam-alef (األعضاء → الأعضاء), U+0005 and other control characters out, CR LF to
    LF."""
    text = text.replace("\ufffe", "-").replace("\r\n", "\n").replace("\r", "\n")
    text = _ALEF_LAM_SWAP.sub(lambda m: "ال" + m.group(1), text)
    return _CONTROL.sub("", text)


def _marks(text: str) -> set[str]:
    """Words (case and Arabic diacritics folded) and Han character pairs: enough to tell
    which page a paragraph sits on, whatever order PDFium put the words in."""
    text = _ARABIC_MARKS.sub("", unicodedata.normalize("NFKC", text).casefold())
    marks = {w for w in _WORD.findall(text) if not _HAN.search(w)}
    han = "".join(ch if _HAN.match(ch) else " " for ch in text)
    for run in han.split():
        marks.update(run[i:i + 2] for i in range(max(1, len(run) - 1)))
    return marks


def place_paragraphs(page_texts: list[str], paragraphs: list[str]) -> list[list[str]]:
    """Put each source paragraph (in document order) on one page: the best match among the
    current page and the next three, so pages only move forwards."""
    pages: list[list[str]] = [[] for _ in page_texts]
    if not page_texts:
        return pages
    page_marks = [_marks(t) for t in page_texts]
    current = 0
    for paragraph in paragraphs:
        marks = _marks(paragraph)
        if not marks:
            continue
        best, best_score = current, 0.0
        for candidate in range(current, min(current + 4, len(page_texts))):
            score = len(marks & page_marks[candidate]) / len(marks)
            if score > best_score + 0.05:
                best, best_score = candidate, score
        if best_score >= 0.3:
            current = best
        pages[current].append(paragraph)
    return pages


def docx_paragraphs(path: Path) -> list[str]:
    """The body's paragraphs and table cells of a DOCX, in document order."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(str(path))
    out: list[str] = []
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = Paragraph(block, document).text
            if text.strip():
                out.append(text.strip())
        elif tag == "tbl":
            for row in Table(block, document).rows:
                for cell in row.cells:
                    text = cell.text.strip()
                    if text and (not out or out[-1] != text):
                        out.append(text)
    return out
