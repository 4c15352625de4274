"""Text into search terms, the same way for a page and for a query, per language and script.

- Arabic: diacritics (tashkeel, tanwin, dagger alef) and tatweel out; alef variants (أ إ آ ٱ)
  to ا, yeh variants (ى ی ئ) to ي, teh marbuta to heh, waw hamza to waw; lam-alef written in
  one order (PDFium returns the ligature as alef-lam: خلال comes back as خالل); a word that starts
  with the article or a clitic plus article (ال، وال، بال، كال، فال، لل) is also indexed without it.
- Chinese: runs of Han characters are segmented by jieba (search mode: words and the words
  inside them); `han_runs` feeds a trigram side index so any substring of three characters
  or more is found even where jieba cut the text elsewhere.
- Latin and Cyrillic: case and accents folded (é → e, ё → е); each word also indexed by its
  Snowball stems, tagged by language (``fr:reseau``; Russian for Cyrillic, French, Spanish and
  English for Latin). A query word matches its folded form or its stem in the same language,
  so French ``débit`` (``fr:deb``) never matches Spanish ``debería`` (``es:deb``); with a
  language filter, only that language's stem.

Pure and synchronous (jieba is CPU work): the search index calls it on the store's thread.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_HAN_CHAR = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN = re.compile(f"[{_HAN_CHAR}]+")
_HAN = re.compile(f"[{_HAN_CHAR}]")
_WORD = re.compile(r"\w+")
_MARKED_WORD = re.compile(r"[\w\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]+")
_ARABIC_LETTER = re.compile(r"[\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ARABIC_MARKS = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ی": "ي",
                              "ئ": "ي", "ة": "ه", "ؤ": "و", "ک": "ك"})
_ARABIC_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
_LATIN_STEMMERS = {"fr": "french", "es": "spanish", "en": "english"}
MAX_QUERY_WORDS = 12


def fold_accents(word: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", word)
                   if unicodedata.category(ch) != "Mn")


def fold_arabic(word: str) -> str:
    return _ARABIC_MARKS.sub("", word).translate(_ARABIC_FOLD)


def _lam_alef(word: str) -> str:
    """One order for lam and alef: PDFium gives the lam-alef ligature (لا) back as alef-lam
    (خلال → خالل), so both sides of the index write every لا as ال."""
    return word.replace("لا", "ال")


def _prepare(text: str) -> str:
    """NFKC (presentation forms, full-width Latin), Arabic marks out so words hold together."""
    return _ARABIC_MARKS.sub("", unicodedata.normalize("NFKC", text))


def han_runs(text: str) -> list[str]:
    return _HAN_RUN.findall(unicodedata.normalize("NFKC", text))


class Normaliser:
    """Owns the stemmers and the jieba tokenizer (loaded once, on first use)."""

    def __init__(self) -> None:
        import snowballstemmer

        self._stemmers: dict[str, Any] = {
            "ru": snowballstemmer.stemmer("russian"),
            **{lang: snowballstemmer.stemmer(name) for lang, name in _LATIN_STEMMERS.items()},
        }
        self._jieba: Any = None

    def _segmenter(self) -> Any:
        if self._jieba is None:
            import logging

            import jieba

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            self._jieba = tokenizer
        return self._jieba

    def warm_up(self) -> None:
        self._segmenter()

    # one word's forms

    def word_forms(self, word: str, language: str | None) -> set[str]:
        """The index terms of one non-Han word; for a query (``language`` None) every form
        that any language's stemmer would have indexed."""
        lower = word.casefold()
        if _ARABIC_LETTER.search(lower):
            folded = fold_arabic(lower)
            if folded.startswith("اال"):  # PDFium's alef-lam for the lam-alef ligature
                folded = "الا" + folded[3:]
            forms = {_lam_alef(folded)}
            for prefix in _ARABIC_PREFIXES:
                if folded.startswith(prefix) and len(folded) - len(prefix) >= 2:
                    forms.add(_lam_alef(folded[len(prefix):]))
                    break
            return forms
        forms = {fold_accents(lower)}
        if lower.isdigit():
            return forms
        if _CYRILLIC.search(lower):
            languages: tuple[str, ...] = ("ru",)
        elif language in _LATIN_STEMMERS:
            languages = (language,)
        else:
            languages = tuple(_LATIN_STEMMERS)
        for lang in languages:
            stem = fold_accents(self._stemmers[lang].stemWord(lower))
            if stem:
                forms.add(f"{lang}:{stem}")
        return {f for f in forms if f}

    # pages

    def index_terms(self, text: str, language: str) -> str:
        """The page's terms, space-separated, for the FTS5 column. Latin words get the
        stems of all three Latin-script languages whatever the document's language (an
        English page quotes French titles), so a query in any of them finds them."""
        text = _prepare(text)
        terms: list[str] = []
        segmenter = self._segmenter()
        for run in _HAN_RUN.findall(text):
            terms.extend(t for t in segmenter.cut_for_search(run) if _HAN.search(t))
        for word in _WORD.findall(_HAN_RUN.sub(" ", text)):
            terms.extend(sorted(self.word_forms(word, None)))
        return " ".join(terms)

    # queries

    def query(self, text: str, language: str | None) -> Query:
        text = _prepare(text)
        runs = _HAN_RUN.findall(text)
        words: list[set[str]] = []
        segmenter = self._segmenter()
        for run in runs:
            words.extend({t} for t in segmenter.cut(run) if _HAN.search(t))
        for word in _WORD.findall(_HAN_RUN.sub(" ", text)):
            words.append(self.word_forms(word, language))
        return Query(words=words[:MAX_QUERY_WORDS], han=runs[:MAX_QUERY_WORDS])

    def matching_spans(self, text: str, query: Query, language: str) -> list[tuple[int, int]]:
        """Where in ``text`` (display text) the query's words occur, for highlighting."""
        wanted = set().union(*query.words) if query.words else set()
        # stems are prefixes of their folded words, near enough: only words that start like
        # a wanted term are stemmed (a page has thousands of words, a query a few)
        heads = {w.split(":", 1)[-1][:3] for w in wanted}
        forms: dict[str, bool] = {}
        spans: list[tuple[int, int]] = []
        clean = unicodedata.normalize("NFKC", text)
        if len(clean) != len(text):  # keep offsets on the displayed text
            clean = text
        for match in _MARKED_WORD.finditer(clean):
            word = match.group()
            if _HAN.search(word):
                continue
            bare = _ARABIC_MARKS.sub("", word)
            if bare not in forms:
                folded = fold_accents(bare.casefold())
                forms[bare] = (bool(_ARABIC_LETTER.search(folded))
                               or any(h in folded[:len(h) + 4] for h in heads)) and bool(
                    self.word_forms(bare, None) & wanted)
            if forms[bare]:
                spans.append(match.span())
        for run in query.han:
            start = clean.find(run)
            while start != -1:
                spans.append((start, start + len(run)))
                start = clean.find(run, start + len(run))
        for term in wanted:
            if _HAN.search(term):
                start = clean.find(term)
                while start != -1:
                    spans.append((start, start + len(term)))
                    start = clean.find(term, start + len(term))
        return _merge(spans)


class Query:
    """A normalised query: each word as its set of acceptable terms, and its Han runs."""

    __slots__ = ("han", "words")

    def __init__(self, words: list[set[str]], han: list[str]) -> None:
        self.words = words
        self.han = han

    @property
    def empty(self) -> bool:
        return not self.words

    def fts(self, include_han: bool = True) -> str:
        """An FTS5 MATCH expression: every word, each as any of its forms (quoted, so no
        query syntax gets through)."""
        parts = []
        for forms in self.words:
            if not include_han and any(_HAN.search(f) for f in forms):
                continue
            alternatives = " OR ".join('"' + f.replace('"', '""') + '"' for f in sorted(forms))
            parts.append(f"({alternatives})")
        return " AND ".join(parts)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def snippet(text: str, spans: list[tuple[int, int]], before: int = 60, after: int = 160
            ) -> list[dict[str, Any]]:
    """A passage around the first match, as segments ``{"text", "match"}`` (the client
    renders matches as <mark>; no HTML crosses the wire)."""
    if not spans:
        return [{"text": text[:before + after].strip(), "match": False}] if text else []
    first = spans[0][0]
    start = max(0, first - before)
    while start > 0 and not text[start - 1].isspace() and first - start < before + 20:
        start -= 1
    end = min(len(text), first + after)
    out: list[dict[str, Any]] = []
    cursor = start
    for s, e in spans:
        if s >= end:
            break
        s, e = max(s, start), min(e, end)
        if s > cursor:
            out.append({"text": text[cursor:s], "match": False})
        out.append({"text": text[s:e], "match": True})
        cursor = e
    if cursor < end:
        out.append({"text": text[cursor:end], "match": False})
    if start > 0:
        out.insert(0, {"text": "…", "match": False})
    if end < len(text):
        out.append({"text": "…", "match": False})
    for seg in out:
        seg["text"] = seg["text"].replace("\n", " ")
    return out
