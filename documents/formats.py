"""What an uploaded file really is, judged from its bytes, never from its name.

Pure checks on untrusted bytes: the type (PDF, OOXML, ODF), whether it is encrypted, and
whether a zip container would expand into far more than it weighs (a zip bomb). The name the
uploader gave only has to agree with what the bytes are.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from urllib.parse import unquote

MAX_UPLOAD_BYTES = 30 * 1024 * 1024
MAX_PAGES = 200
MAX_ZIP_ENTRIES = 5000
MAX_ZIP_EXPANDED = 400 * 1024 * 1024
MAX_ZIP_RATIO = 100  # per entry of more than a megabyte once expanded

FILE_TYPES = ("pdf", "docx", "pptx", "xlsx", "odt", "odp", "ods")
OFFICE_TYPES = frozenset(FILE_TYPES) - {"pdf"}

_ODF_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.presentation": "odp",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
}
_OOXML_PARTS = (("word/document.xml", "docx"), ("ppt/presentation.xml", "pptx"),
                ("xl/workbook.xml", "xlsx"))
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class FileRejected(Exception):
    """An upload that is not accepted; ``code`` names why (docs/protocol.md, Documents)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Sniffed:
    file_type: str


def claimed_type(file_name: str) -> str | None:
    """The type the name claims (its extension), or None when it has none we know."""
    stem, dot, ext = file_name.rpartition(".")
    if not dot or not stem:
        return None
    ext = ext.lower()
    return ext if ext in FILE_TYPES else None


def sniff(data: bytes, file_name: str = "") -> Sniffed:
    """Decide what ``data`` is; FileRejected for anything not accepted."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise FileRejected("too-large", f"the file is over {MAX_UPLOAD_BYTES // 2**20} MB")
    if not data:
        raise FileRejected("bad-file", "the file is empty")
    if data[:1024].find(b"%PDF-") != -1:
        found = "pdf"
    elif data.startswith(b"PK\x03\x04"):
        found = _sniff_zip(data)
    elif data.startswith(_CFB_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data or \
                "EncryptionInfo".encode("utf-16-le") in data:
            raise FileRejected("encrypted", "the file is password-protected: upload it"
                               " without a password")
        raise FileRejected("unsupported-type", "old binary Office files (.doc, .ppt, .xls)"
                           " are not accepted: save it as DOCX, PPTX or XLSX, or as PDF")
    else:
        raise FileRejected("unsupported-type", "the file is not a PDF, DOCX, PPTX, XLSX, ODT,"
                           " ODP or ODS file")
    claim = claimed_type(file_name)
    stem, dot, ext = file_name.rpartition(".")
    if claim is None and dot and stem and ext:
        raise FileRejected("unsupported-type", f"files of type .{ext[:10]} are not accepted")
    if claim is not None and claim != found:
        raise FileRejected("wrong-type", f"the file is named .{claim} but it is a"
                           f" {found.upper()} file")
    return Sniffed(found)


def _sniff_zip(data: bytes) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FileRejected("bad-file", "the file is a damaged zip container") from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise FileRejected("zip-bomb", f"the file holds over {MAX_ZIP_ENTRIES} parts")
    expanded = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise FileRejected("encrypted", "the file is password-protected")
        expanded += info.file_size
        if info.file_size > 2**20 and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise FileRejected("zip-bomb", "the file expands far beyond its size"
                               f" ({info.file_size} bytes from {info.compress_size})")
    if expanded > MAX_ZIP_EXPANDED:
        raise FileRejected("zip-bomb", f"the file expands to over"
                           f" {MAX_ZIP_EXPANDED // 2**20} MB")
    names = {info.filename for info in infos}
    if "mimetype" in names:
        try:
            mimetype = archive.read("mimetype").strip()
        except (zipfile.BadZipFile, OSError, RuntimeError):
            raise FileRejected("bad-file", "the file is a damaged ODF container") from None
        if mimetype in _ODF_MIMETYPES:
            return _ODF_MIMETYPES[mimetype]
    if "[Content_Types].xml" in names:
        for part, kind in _OOXML_PARTS:
            if part in names:
                return kind
    raise FileRejected("unsupported-type", "the zip file is not a DOCX, PPTX, XLSX, ODT, ODP"
                       " or ODS document")


def display_name(file_name: str) -> str:
    """The uploader's name for the file, kept for display only: no directories, no control
    characters, at most 120 characters. Files on disk are named by generated ids. Some
    clients percent-encode the multipart file name: it is decoded first."""
    base = unquote(file_name).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable())
    return base.strip()[:120] or "document"
