"""Documents: conversion time and page sizes; search speed and quality in six languages.

Conversion: a 100-page DOCX (six languages of text) through the real pipeline (LibreOffice
headless, then the PDFium render child at 400/800/1400 px) and the same document as a PDF
(render only); the WebP size of a page at each width, and what that means on a 100 kbit/s link.

Search: a generated corpus of at least 10,000 pages in the six languages, with topics planted
in known pages under varied surface forms (inflections, accents, Arabic diacritics and letter
variants, Chinese words the query is only part of). Index time, query p50/p99, precision and
recall per language; the baseline in the same run is plain FTS5 (``unicode61``, no language
normalisation) over the same pages and queries.

Deployment-wide search (`/api/search`'s work): the same pages spread over many meetings, plus
final captions and interventions of those meetings (topics planted in known lines) in the
captions and floor log tables; the derived index's catch-up rate, and a query over every
meeting (pages and lines) beside the same query over one meeting, in the same run.

    python -m bench.documents            # full run (figures in docs/performance.md)
    python -m bench.documents --smoke    # a small, quick run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from documents.conversion import Converter
from documents.normalise import Normaliser
from documents.proceedings import SCHEMA as LINES_SCHEMA
from documents.proceedings import catch_up, search_lines
from documents.search import SCHEMA, Filters, PageText, index_version, search
from meeting_server.captions_store import SCHEMA as CAPTIONS_SCHEMA
from meeting_server.store import SCHEMA as MEETING_SCHEMA


def words(text: str) -> list[str]:
    return text.split()


FILLER: dict[str, list[str]] = {
    "en": words("the study group agreed that work on the draft text should continue in the next "
           "meeting of the question with contributions from members on performance quality "
           "service requirements architecture management interfaces security terminal"),
    "fr": words("la commission d'études a convenu que les travaux sur le projet de texte devraient "
           "se poursuivre lors de la prochaine réunion avec des contributions des membres sur "
           "la qualité de service les exigences l'architecture et la gestion"),
    "es": words("la comisión de estudio acordó que el trabajo sobre el proyecto de texto debería "
           "continuar en la próxima reunión con contribuciones de los miembros sobre la "
           "calidad de servicio los requisitos la arquitectura y la gestión"),
    "ru": words("исследовательская комиссия согласилась что работа над проектом текста должна "
           "продолжиться на следующем собрании с вкладами членов по качеству обслуживания "
           "требованиям архитектуре и управлению"),
    "ar": words("وافقت لجنة الدراسات على أن يستمر العمل في مشروع النص خلال الاجتماع المقبل مع "
           "مساهمات من الأعضاء بشأن جودة الخدمة والمتطلبات والمعمارية والتشغيل"),
    "zh": ["研究组", "同意", "关于", "草案", "文本", "的", "工作", "应", "在", "下次", "会议",
           "上", "继续", "成员", "提交", "服务", "质量", "要求", "架构", "管理", "接口", "终端"],
}

# (query, surface forms planted in the relevant pages) per language
TOPICS: dict[str, list[tuple[str, list[str]]]] = {
    "en": [("authenticate", ["authentication", "authenticated", "authenticating"]),
           ("splitter", ["splitters", "splitter"]),
           ("encryption", ["encrypted", "encryption", "encrypting"]),
           ("latency", ["latencies", "latency"]),
           ("roaming", ["roaming", "roamed"]),
           ("multicast", ["multicasting", "multicast"])],
    "fr": [("reseau", ["réseaux", "réseau"]),
           ("chiffrement", ["chiffrement", "chiffrements"]),
           ("débit", ["débits", "débit", "DÉBIT"]),
           ("itinérance", ["itinérance", "Itinérance"]),
           ("fibre", ["fibres", "fibre"]),
           ("brouillage", ["brouillages", "brouillage"])],
    "es": [("optico", ["ópticos", "óptica", "óptico"]),
           ("cifrado", ["cifrados", "cifrado", "cifrada"]),
           ("enlace", ["enlaces", "enlace"]),
           ("itinerancia", ["itinerancia", "Itinerancia"]),
           ("latencia", ["latencias", "latencia"]),
           ("antena", ["antenas", "antena"])],
    "ru": [("сеть", ["сети", "сетями", "сетью", "сеть"]),
           ("шифрование", ["шифрования", "шифрованием", "шифрование"]),
           ("задержка", ["задержки", "задержкой", "задержка"]),
           ("роуминг", ["роуминга", "роумингом", "роуминг"]),
           ("антенна", ["антенны", "антенной", "антенна"]),
           ("ёмкость", ["ёмкости", "емкость", "ёмкостью"])],
    "ar": [("المقسم", ["المُقَسِّم", "المقسِّم", "المقسم"]),
           ("اداره", ["إدارة", "الإدارة", "ادارة"]),
           ("التشفير", ["التَّشْفِير", "التشفير"]),
           ("مستوي", ["مستوى", "المستوى", "مستوي"]),
           ("الألياف", ["الأَلْيَاف", "الالياف", "الألياف"]),
           ("الكمون", ["الكُمُون", "الكمون"])],
    "zh": [("准化部", ["标准化部门"]),
           ("研究小", ["研究小组"]),
           ("光纤", ["光纤网络", "光纤"]),
           ("加密", ["加密算法", "加密"]),
           ("漫游", ["国际漫游", "漫游"]),
           ("时延", ["端到端时延", "时延"])],
}


def generate(pages_per_language: int, planted_per_topic: int, seed: int = 11
             ) -> tuple[list[dict[str, Any]], dict[tuple[str, str], set[int]]]:
    """Pages (id, language, text) and, per (language, query), the ids of its pages."""
    rng = random.Random(seed)
    pages: list[dict[str, Any]] = []
    relevant: dict[tuple[str, str], set[int]] = {}
    for language, filler in FILLER.items():
        first = len(pages)
        for _ in range(pages_per_language):
            words = [rng.choice(filler) for _ in range(120)]
            pages.append({"id": len(pages), "language": language, "words": words})
        for query, forms in TOPICS[language]:
            chosen = rng.sample(range(first, first + pages_per_language), planted_per_topic)
            relevant[(language, query)] = set(chosen)
            for page_id in chosen:
                words = pages[page_id]["words"]
                words.insert(rng.randrange(len(words)), rng.choice(forms))
    joiner = {"zh": ""}
    for page in pages:
        page["text"] = joiner.get(page["language"], " ").join(page.pop("words"))
    return pages, relevant


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_search(pages_per_language: int, planted: int, repeats: int) -> dict[str, Any]:
    pages, relevant = generate(pages_per_language, planted)
    normaliser = Normaliser()
    normaliser.warm_up()
    folder = Path(tempfile.mkdtemp(prefix="rostrum-bench-search-"))
    try:
        db = sqlite3.connect(folder / "search.sqlite3", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        db.execute("CREATE VIRTUAL TABLE plain USING fts5(text)")  # the baseline
        start = time.perf_counter()
        with db:
            db.execute("BEGIN")
            for page in pages:
                index_version(db, normaliser, meeting_id="m", document_id=f"d{page['id']}",
                              version_id=f"v{page['id']}", language=page["language"],
                              kind="contribution", pages=[PageText(page["id"], page["text"])])
        index_s = time.perf_counter() - start
        start = time.perf_counter()
        with db:
            db.execute("BEGIN")
            db.executemany("INSERT INTO plain (rowid, text) VALUES (?, ?)",
                           [(p["id"], p["text"]) for p in pages])
        plain_index_s = time.perf_counter() - start
        size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
        filters = Filters(("m",))
        per_language: dict[str, dict[str, Any]] = {}
        latencies: list[float] = []
        plain_latencies: list[float] = []
        for (language, query), wanted in relevant.items():
            for _ in range(repeats):
                t0 = time.perf_counter()
                _, hits = search(db, normaliser, query, filters, limit=10_000)
                latencies.append(time.perf_counter() - t0)
            found = {h["page"] for h in hits}
            t0 = time.perf_counter()
            try:
                phrase = '"' + query.replace('"', '""') + '"'
                plain = {r[0] for r in db.execute(
                    "SELECT rowid FROM plain WHERE plain MATCH ?", (phrase,)).fetchall()}
            except sqlite3.OperationalError:
                plain = set()
            plain_latencies.append(time.perf_counter() - t0)
            row = per_language.setdefault(language, {"queries": 0, "tp": 0, "found": 0,
                                                     "relevant": 0, "plain_tp": 0,
                                                     "plain_found": 0})
            row["queries"] += 1
            row["tp"] += len(found & wanted)
            row["found"] += len(found)
            row["relevant"] += len(wanted)
            row["plain_tp"] += len(plain & wanted)
            row["plain_found"] += len(plain)
        for row in per_language.values():
            row["precision"] = round(row["tp"] / row["found"], 3) if row["found"] else None
            row["recall"] = round(row["tp"] / row["relevant"], 3)
            row["plain_precision"] = (round(row["plain_tp"] / row["plain_found"], 3)
                                      if row["plain_found"] else None)
            row["plain_recall"] = round(row["plain_tp"] / row["relevant"], 3)
        nohit = [search(db, normaliser, q, filters)[1] for q in ("xylophone", "вертолёт",
                                                                 "量子纠缠", "مروحية")]
        return {"pages": len(pages), "index_s": round(index_s, 2),
                "index_pages_per_s": round(len(pages) / index_s),
                "plain_index_s": round(plain_index_s, 2), "db_mb": round(size_mb, 1),
                "query_p50_ms": round(pct(latencies, 0.5) * 1000, 2),
                "query_p99_ms": round(pct(latencies, 0.99) * 1000, 2),
                "plain_query_p50_ms": round(pct(plain_latencies, 0.5) * 1000, 2),
                "queries": len(relevant), "repeats": repeats,
                "words_in_no_page_found": sum(len(h) for h in nohit),
                "languages": per_language}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_deployment(meetings: int, pages_per_language: int, lines_per_language: int,
                     planted: int, repeats: int) -> dict[str, Any]:
    """Pages, captions and interventions over ``meetings`` meetings; search them all."""
    pages, _ = generate(pages_per_language, planted, seed=13)
    lines, relevant = generate(lines_per_language, planted, seed=17)
    rng = random.Random(19)
    normaliser = Normaliser()
    normaliser.warm_up()
    ids = tuple(f"m{n:03d}" for n in range(meetings))
    folder = Path(tempfile.mkdtemp(prefix="rostrum-bench-deploy-"))
    try:
        db = sqlite3.connect(folder / "deploy.sqlite3", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        for schema in (MEETING_SCHEMA, CAPTIONS_SCHEMA, SCHEMA, LINES_SCHEMA):
            db.executescript(schema)
        with db:
            db.execute("BEGIN")
            for page in pages:
                index_version(db, normaliser, meeting_id=ids[page["id"] % meetings],
                              document_id=f"d{page['id']}", version_id=f"v{page['id']}",
                              language=page["language"], kind="contribution",
                              pages=[PageText(1, page["text"])])
            db.executemany("INSERT INTO meetings (id, title, languages, created_at)"
                           " VALUES (?, ?, 'ar,zh,en,fr,ru,es', 0)",
                           [(m, f"Meeting {m}") for m in ids])
            captions, floor = [], []
            for line in lines:  # a caption of 15-25 words; one intervention per 10 lines
                words = line["text"].split(" ") if line["language"] != "zh" else [line["text"]]
                text = " ".join(words[:rng.randint(15, 25)]) if len(words) > 1 \
                    else line["text"][:40]
                captions.append((line["id"] + 1, ids[line["id"] % meetings],
                                 line["language"], float(line["id"]), float(line["id"]),
                                 text, "Delegate", "Kenya", "console"))
                if line["id"] % 10 == 0:
                    floor.append((ids[line["id"] % meetings], float(line["id"]),
                                  f"Delegate {line['id']}", "Kenya", line["language"]))
            db.executemany("INSERT INTO captions (id, meeting_id, language, started_at, at,"
                           " text, speaker_name, speaker_member_state, source) VALUES"
                           " (?, ?, ?, ?, ?, ?, ?, ?, ?)", captions)
            db.executemany("INSERT INTO floor_log (meeting_id, at, event, name, member_state,"
                           " language) VALUES (?, ?, 'intervention-start', ?, ?, ?)", floor)
        # the planted topic must survive the cut to 15-25 words: plant it again at the start
        with db:
            db.execute("BEGIN")
            for (language, query), wanted in relevant.items():
                form = next(f for q, forms in TOPICS[language] if q == query for f in forms)
                for line_id in wanted:
                    db.execute("UPDATE captions SET text = ? || ' ' || text WHERE id = ?",
                               (form, line_id + 1))
        start = time.perf_counter()
        while catch_up(db, normaliser):
            pass
        catch_up_s = time.perf_counter() - start
        indexed = db.execute("SELECT COUNT(*) FROM search_lines").fetchone()[0]
        t0 = time.perf_counter()
        assert catch_up(db, normaliser) == 0
        idle_ms = (time.perf_counter() - t0) * 1000
        size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
        wide: list[float] = []
        narrow: list[float] = []
        per_language: dict[str, dict[str, Any]] = {}
        for (language, query), wanted in relevant.items():
            for _ in range(repeats):
                t0 = time.perf_counter()
                catch_up(db, normaliser)  # as the service does before each search
                search(db, normaliser, query, Filters(ids))
                found_lines = search_lines(db, normaliser, query, ids, limit=10_000)
                wide.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                catch_up(db, normaliser)
                search(db, normaliser, query, Filters(ids[:1]))
                search_lines(db, normaliser, query, ids[:1])
                narrow.append(time.perf_counter() - t0)
            found = {h["id"] - 1 for h in found_lines if h["source"] == "captions"}
            row = per_language.setdefault(language, {"queries": 0, "tp": 0, "found": 0,
                                                     "relevant": 0})
            row["queries"] += 1
            row["tp"] += len(found & wanted)
            row["found"] += len(found)
            row["relevant"] += len(wanted)
        for row in per_language.values():
            row["precision"] = round(row["tp"] / row["found"], 3) if row["found"] else None
            row["recall"] = round(row["tp"] / row["relevant"], 3)
        nohit = [search_lines(db, normaliser, q, ids) for q in ("xylophone", "вертолёт",
                                                                "量子纠缠", "مروحية")]
        return {"meetings": meetings, "pages": len(pages), "captions": len(captions),
                "interventions": len(floor), "lines_indexed": indexed,
                "catch_up_s": round(catch_up_s, 2),
                "catch_up_lines_per_s": round(indexed / catch_up_s),
                "idle_catch_up_ms": round(idle_ms, 2), "db_mb": round(size_mb, 1),
                "all_meetings_p50_ms": round(pct(wide, 0.5) * 1000, 2),
                "all_meetings_p99_ms": round(pct(wide, 0.99) * 1000, 2),
                "one_meeting_p50_ms": round(pct(narrow, 0.5) * 1000, 2),
                "one_meeting_p99_ms": round(pct(narrow, 0.99) * 1000, 2),
                "queries": len(relevant), "repeats": repeats,
                "words_in_no_line_found": sum(len(h) for h in nohit),
                "caption_languages": per_language}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def bench_conversion(pages: int) -> dict[str, Any]:
    from tests.documents_support import docx_to_pdf, make_docx

    rng = random.Random(5)
    content = []
    for n in range(pages):
        language = list(FILLER)[n % 6]
        joiner = "" if language == "zh" else " "
        content.append([joiner.join(rng.choice(FILLER[language]) for _ in range(90))
                        for _ in range(3)])
    docx = make_docx(content)
    pdf = docx_to_pdf(docx)
    folder = Path(tempfile.mkdtemp(prefix="rostrum-bench-convert-"))
    try:
        converter = Converter(folder / "work")
        out: dict[str, Any] = {"pages_asked": pages}
        for kind, data in (("docx", docx), ("pdf", pdf)):
            start = time.perf_counter()
            done = await converter.convert(data, kind, folder / kind, lambda s, f: None)
            seconds = time.perf_counter() - start
            sizes: dict[str, list[int]] = {}
            for page in done.pages:
                for width, image in page["images"].items():
                    sizes.setdefault(width, []).append(int(image["bytes"]))
            out[kind] = {"pages": len(done.pages), "bytes_in": len(data),
                         "seconds": round(seconds, 2),
                         "ms_per_page": round(seconds * 1000 / len(done.pages), 1),
                         "page_bytes": {w: {"p50": int(statistics.median(v)), "max": max(v)}
                                        for w, v in sizes.items()}}
        small = out["pdf"]["page_bytes"]["400"]["max"]
        out["next_page_at_100kbit_s"] = round(small * 8 / 100_000, 2)
        return out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.documents")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--skip-conversion", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    if not args.skip_conversion:
        figures["conversion"] = asyncio.run(bench_conversion(6 if args.smoke else 100))
        print(json.dumps(figures["conversion"], indent=1, ensure_ascii=False))
    per_language = 100 if args.smoke else 1700
    figures["search"] = bench_search(per_language, 5 if args.smoke else 25,
                                     1 if args.smoke else 5)
    print(json.dumps(figures["search"], indent=1, ensure_ascii=False))
    figures["deployment"] = bench_deployment(
        6 if args.smoke else 40, 50 if args.smoke else 1700, 100 if args.smoke else 6000,
        5 if args.smoke else 25, 1 if args.smoke else 3)
    print(json.dumps(figures["deployment"], indent=1, ensure_ascii=False))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
