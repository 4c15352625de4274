"""Render a PDF's pages into images at a few widths, with each page's text and positions.

Run as a child process (``python -m documents.render PDF OUTDIR --widths 400,800,1400``) so a
hostile PDF that hangs or crashes PDFium takes nothing else down; `conversion.py` starts it
with a time and memory limit. It writes ``OUTDIR/<page>-<width>.webp`` and
``OUTDIR/<page>.json`` (the text layer) and reports on stdout, one JSON object a line:
``{"pages": N}``, then ``{"page": n}`` per page done, then ``{"done": [...pages]}``; or
``{"error": code, "message": ...}`` with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .text import clean_pdf_text, docx_paragraphs, place_paragraphs

WEBP_QUALITY = 60
FEW_COLOURS = 8192


def save_webp(image: Any, path: Path) -> None:
    """Text and line art (a page of few colours) as lossless WebP: smaller than lossy at
    these widths (a 400 px text page: about 12 KB against 17 KB) and sharp; pictures and
    slides with photographs as lossy WebP."""
    if image.getcolors(FEW_COLOURS) is not None:
        image.save(path, "WEBP", lossless=True, quality=70, method=4)
    else:
        image.save(path, "WEBP", quality=WEBP_QUALITY, method=4)


def _say(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def text_layer(page: Any, width_pt: float, height_pt: float) -> dict[str, Any]:
    """The page's text runs, each with its box in page fractions (0..1, origin top-left), and
    the page's whole text in reading order (as PDFium gives it)."""
    textpage = page.get_textpage()
    try:
        runs = []
        for i in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(i)
            text = clean_pdf_text(textpage.get_text_bounded(left, bottom, right, top))
            if not text.strip():
                continue
            runs.append({"x": round(left / width_pt, 5), "y": round(1 - top / height_pt, 5),
                         "w": round((right - left) / width_pt, 5),
                         "h": round((top - bottom) / height_pt, 5), "text": text})
        return {"runs": runs, "text": clean_pdf_text(textpage.get_text_range())}
    finally:
        textpage.close()


def render(pdf_path: Path, out_dir: Path, widths: list[int], max_pages: int,
           source: Path | None = None) -> int:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(pdf_path))
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text or "security" in text:
            _say({"error": "encrypted", "message": "the PDF is password-protected: upload it"
                  " without a password"})
        else:
            _say({"error": "bad-file", "message": "the PDF cannot be read (damaged or not a"
                  " PDF)"})
        return 2
    try:
        count = len(pdf)
        if count == 0:
            _say({"error": "bad-file", "message": "the document has no pages"})
            return 2
        if count > max_pages:
            _say({"error": "too-many-pages", "message": f"the document has {count} pages;"
                  f" at most {max_pages} are accepted"})
            return 2
        _say({"pages": count})
        pages = []
        for index in range(count):
            page = pdf[index]
            try:
                width_pt, height_pt = page.get_size()
                if width_pt <= 0 or height_pt <= 0 or width_pt > 14400 or height_pt > 14400:
                    _say({"error": "bad-file", "message": f"page {index + 1} has an"
                          " impossible size"})
                    return 2
                n = index + 1
                images = {}
                for width in widths:
                    scale = width / width_pt
                    bitmap = page.render(scale=scale)
                    image = bitmap.to_pil()
                    name = f"{n}-{width}.webp"
                    save_webp(image, out_dir / name)
                    images[str(width)] = {"file": name, "width": image.width,
                                          "height": image.height,
                                          "bytes": (out_dir / name).stat().st_size}
                    bitmap.close()
                layer = text_layer(page, width_pt, height_pt)
                (out_dir / f"{n}.json").write_text(json.dumps(layer, ensure_ascii=False),
                                                   encoding="utf-8")
                pages.append({"page": n, "widthPt": round(width_pt, 2),
                              "heightPt": round(height_pt, 2), "images": images})
            finally:
                page.close()
            _say({"page": n})
        if source is not None:
            _add_source_text(out_dir, len(pages), source)
        _say({"done": pages})
        return 0
    finally:
        pdf.close()


def _add_source_text(out_dir: Path, count: int, source: Path) -> None:
    """Each page's ``source`` text: the DOCX paragraphs that sit on it (text.py)."""
    try:
        paragraphs = docx_paragraphs(source)
    except Exception as exc:  # the PDF text still serves; say why in the log
        sys.stderr.write(f"source text not read: {exc!r}\n")
        return
    layers = [json.loads((out_dir / f"{n}.json").read_text(encoding="utf-8"))
              for n in range(1, count + 1)]
    placed = place_paragraphs([layer["text"] for layer in layers], paragraphs)
    for n, (layer, mine) in enumerate(zip(layers, placed, strict=True), start=1):
        layer["source"] = "\n".join(mine)
        (out_dir / f"{n}.json").write_text(json.dumps(layer, ensure_ascii=False),
                                           encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m documents.render")
    parser.add_argument("pdf", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--widths", default="400,800,1400")
    parser.add_argument("--max-pages", type=int, default=200)
    parser.add_argument("--source", type=Path, default=None, help="the DOCX original")
    parser.add_argument("--memory-mb", type=int, default=0, help="address space limit")
    args = parser.parse_args(argv)
    if args.memory_mb > 0:
        import resource

        limit = args.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    widths = [int(w) for w in args.widths.split(",")]
    return render(args.pdf, args.out, widths, args.max_pages, args.source)


if __name__ == "__main__":
    sys.exit(main())
