"""Turn an uploaded file into page images and text layers, off the event loop.

Office files go through LibreOffice headless to PDF; PDFs go as they are. Then a child process
(`render.py`) renders the pages with pypdfium2. Both run as subprocesses in their own process
group with a time limit (killed, group and all, when it passes), LibreOffice with a throw-away
profile and, where the kernel allows, no network at all (``unshare --net``). The render child
caps its own memory. Every failure is a `FileRejected` with a code, and leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .formats import MAX_PAGES, OFFICE_TYPES, FileRejected

logger = logging.getLogger(__name__)

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

Progress = Callable[[str, float], None]  # (stage, fraction done 0..1)


@dataclass(frozen=True, slots=True)
class Limits:
    office_timeout_s: float = 120.0
    render_timeout_s: float = 180.0
    max_pages: int = MAX_PAGES
    widths: tuple[int, ...] = (400, 800, 1400)
    render_memory_mb: int = 1536


@dataclass(frozen=True, slots=True)
class Converted:
    """Pages in ``directory``: ``<n>-<width>.webp`` and ``<n>.json`` (text layer)."""

    directory: Path
    pages: list[dict[str, Any]]


def find_soffice() -> str | None:
    for name in ("soffice", "libreoffice"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Converter:
    """Converts one file at a time (the machine's cores belong to the meetings first)."""

    def __init__(self, work_root: Path, limits: Limits | None = None,
                 concurrency: int = 1) -> None:
        self.work_root = work_root
        self.limits = limits or Limits()
        self._slots = asyncio.Semaphore(concurrency)
        self._isolation: list[str] | None = None

    async def _network_isolation(self) -> list[str]:
        """``unshare --net`` (root) or ``unshare --net --map-root-user``, whichever works."""
        if self._isolation is not None:
            return self._isolation
        self._isolation = []
        unshare = shutil.which("unshare")
        candidates = [] if unshare is None else [[unshare, "--net"],
                                                 [unshare, "--net", "--map-root-user"]]
        for prefix in candidates:
            proc = await asyncio.create_subprocess_exec(
                *prefix, "true", stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL)
            if await proc.wait() == 0:
                self._isolation = list(prefix)
                break
        if not self._isolation:
            logger.warning("documents: unshare --net is not available; LibreOffice runs"
                           " with the host's network")
        return self._isolation

    async def convert(self, data: bytes, file_type: str, out_dir: Path,
                      progress: Progress) -> Converted:
        """Write pages for ``data`` into ``out_dir`` (which must not exist yet)."""
        progress("queued", 0.0)
        async with self._slots:
            work = await asyncio.to_thread(self._workspace)
            try:
                original = work / f"original.{file_type}"
                await asyncio.to_thread(original.write_bytes, data)
                if file_type in OFFICE_TYPES:
                    progress("converting", 0.05)
                    pdf = await self._office_to_pdf(original, work)
                else:
                    pdf = original
                progress("rendering", 0.2)
                staging = work / "pages"
                await asyncio.to_thread(staging.mkdir)
                source = original if file_type == "docx" else None
                pages = await self._render(pdf, staging, progress, source)
                await asyncio.to_thread(_move, staging, out_dir)
                return Converted(out_dir, pages)
            finally:
                await asyncio.to_thread(shutil.rmtree, work, True)

    def _workspace(self) -> Path:
        self.work_root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="convert-", dir=self.work_root))

    async def _office_to_pdf(self, original: Path, work: Path) -> Path:
        soffice = find_soffice()
        if soffice is None:
            raise FileRejected("conversion-failed", "LibreOffice is not installed on the"
                               " server (libreoffice-writer-nogui): only PDF is accepted")
        out = work / "pdf"
        await asyncio.to_thread(out.mkdir)
        profile = work / "profile"
        command = [*await self._network_isolation(), soffice,
                   f"-env:UserInstallation=file://{profile}", "--headless", "--invisible",
                   "--norestore", "--nolockcheck", "--nodefault", "--nologo",
                   "--convert-to", "pdf", "--outdir", str(out), str(original)]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work),
               "LANG": "C.UTF-8", "TMPDIR": str(work)}
        code, _, err = await self._run(command, env, self.limits.office_timeout_s,
                                       "LibreOffice")
        pdf = out / (original.stem + ".pdf")
        if code != 0 or not await asyncio.to_thread(_nonempty, pdf):
            logger.warning("documents: LibreOffice failed (%s): %s", code, err[-500:])
            raise FileRejected("conversion-failed", "the file could not be converted (damaged"
                               " or not a real document)")
        return pdf

    async def _render(self, pdf: Path, staging: Path, progress: Progress,
                      source: Path | None) -> list[dict[str, Any]]:
        command = [sys.executable, "-m", "documents.render", str(pdf), str(staging),
                   "--widths", ",".join(str(w) for w in self.limits.widths),
                   "--max-pages", str(self.limits.max_pages),
                   "--memory-mb", str(self.limits.render_memory_mb)]
        if source is not None:
            command += ["--source", str(source)]
        total = 0
        result: list[dict[str, Any]] | None = None
        failure: dict[str, Any] | None = None

        def line(obj: dict[str, Any]) -> None:
            nonlocal total, result, failure
            if "pages" in obj:
                total = int(obj["pages"])
            elif "page" in obj and total:
                progress("rendering", 0.2 + 0.75 * int(obj["page"]) / total)
            elif "done" in obj:
                result = list(obj["done"])
            elif "error" in obj:
                failure = obj

        env = dict(os.environ)
        env["PYTHONPATH"] = _PACKAGE_ROOT
        code, _, err = await self._run(command, env, self.limits.render_timeout_s,
                                       "page rendering", on_line=line)
        if failure is not None:
            raise FileRejected(str(failure["error"]), str(failure["message"]))
        if code != 0 or result is None:
            logger.warning("documents: render failed (%s): %s", code, err[-500:])
            raise FileRejected("conversion-failed", "the pages could not be rendered")
        return result

    async def _run(self, command: list[str], env: dict[str, str], timeout_s: float,
                   what: str, on_line: Callable[[dict[str, Any]], None] | None = None
                   ) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True)
        assert proc.stdout is not None and proc.stderr is not None
        stdout, stderr = proc.stdout, proc.stderr

        async def read_out() -> str:
            seen = []
            async for raw in stdout:
                text = raw.decode("utf-8", "replace")
                seen.append(text)
                if on_line is not None:
                    with contextlib.suppress(ValueError):
                        obj = json.loads(text)
                        if isinstance(obj, dict):
                            on_line(obj)
            return "".join(seen)

        async def read_err() -> str:
            return (await stderr.read()).decode("utf-8", "replace")

        readers = asyncio.gather(read_out(), read_err())
        try:
            async with asyncio.timeout(timeout_s):
                out, err = await readers
                code = await proc.wait()
        except TimeoutError:
            _kill_group(proc.pid)
            await proc.wait()
            readers.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await readers
            raise FileRejected("conversion-timeout", f"{what} took longer than"
                               f" {timeout_s:.0f} s and was stopped") from None
        except BaseException:
            _kill_group(proc.pid)
            await proc.wait()
            readers.cancel()
            raise
        _kill_group(proc.pid)  # a converter's helper left behind goes too
        return code, out, err


def _move(staging: Path, out_dir: Path) -> None:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(out_dir)


def _nonempty(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
