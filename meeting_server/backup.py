"""Online backup and restore of the database (`python -m meeting_server backup|restore`).

`backup` copies the live database with SQLite's backup API while the server runs (a
consistent snapshot, never a half-written page, unlike `cp` of a WAL database), writes it
beside its destination first and renames it into place, and checks the copy's integrity.
`restore` puts a checked backup in place of the database of a stopped server, keeping the
database it replaces. The server secret (`<data>/secret`) is a separate file: back it up
too, or every invite link dies with it.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BackupError", "BackupResult", "backup", "main", "restore"]

DATABASE_NAME = "rostrum.sqlite3"


class BackupError(Exception):
    """The backup or restore could not be made; nothing was changed."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    bytes: int
    tables: dict[str, int]  # rows per table
    seconds: float


def _check(path: Path) -> dict[str, int]:
    """Integrity check of a database file; rows per table."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: cannot be opened: {exc}") from None
    try:
        result = db.execute("PRAGMA integrity_check").fetchone()
        if not result or result[0] != "ok":
            raise BackupError(f"{path}: integrity check failed: {result}")
        names = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        if "meetings" not in names:
            raise BackupError(f"{path}: not a Rostrum database (no meetings table)")
        return {name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                for name in sorted(names)}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a database: {exc}") from None
    finally:
        db.close()


def backup(database: Path, destination: Path, *, overwrite: bool = False) -> BackupResult:
    """Copy ``database`` (which may be in use) to ``destination``."""
    start = time.monotonic()
    if not database.is_file():
        raise BackupError(f"no database at {database}")
    if destination.is_dir():
        destination = destination / f"rostrum-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}" \
                                     ".sqlite3"
    if destination.exists() and not overwrite:
        raise BackupError(f"{destination} exists (use --overwrite to replace it)")
    if not destination.parent.is_dir():
        raise BackupError(f"no folder {destination.parent}")
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        target = sqlite3.connect(partial)
        try:
            # in steps, so a running server's writers wait at most one step at a time
            source.backup(target, pages=256, sleep=0.005)
        finally:
            target.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup failed: {exc}") from None
    finally:
        source.close()
    try:
        tables = _check(partial)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    os.chmod(partial, 0o600)  # attendance and the floor log are personal data
    os.replace(partial, destination)
    return BackupResult(destination, destination.stat().st_size, tables,
                        time.monotonic() - start)


def restore(backup_file: Path, data_dir: Path) -> Path:
    """Put a backup in place as the data folder's database (the server must be stopped).
    Returns where the replaced database was kept (or the database path if there was none)."""
    tables = _check(backup_file)
    data_dir.mkdir(parents=True, exist_ok=True)
    database = data_dir / DATABASE_NAME
    kept = database
    if database.exists():
        # a running server keeps its WAL database open: then no connection can take the
        # file for itself (exclusive locking mode), even while the server writes nothing
        probe = sqlite3.connect(database, timeout=0.5)
        try:
            probe.execute("PRAGMA locking_mode=EXCLUSIVE")
            probe.execute("BEGIN EXCLUSIVE")
            probe.rollback()
        except sqlite3.OperationalError:
            raise BackupError(f"{database} is in use: stop the server first") from None
        finally:
            probe.close()
        kept = database.with_name(
            f"{DATABASE_NAME}.before-restore-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
        os.replace(database, kept)
    for suffix in ("-wal", "-shm"):
        Path(str(database) + suffix).unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    target = sqlite3.connect(database)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    os.chmod(database, 0o600)
    if _check(database) != tables:
        raise BackupError("the restored database differs from the backup")
    return kept


def main(argv: Sequence[str], env: dict[str, str] | None = None) -> int:
    env = dict(os.environ) if env is None else env
    parser = argparse.ArgumentParser(prog="python -m meeting_server",
                                     description="Back up or restore Rostrum's database")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("backup", help="copy the live database (the server may run)")
    make.add_argument("destination", help="a file, or a folder for a time-stamped file")
    make.add_argument("--overwrite", action="store_true")
    put = sub.add_parser("restore", help="put a backup in place (stop the server first)")
    put.add_argument("backup", help="a file made by `backup`")
    for p in (make, put):
        p.add_argument("--data-dir", default=env.get("ROSTRUM_DATA_DIR", "data"))
    args = parser.parse_args(list(argv))
    data_dir = Path(args.data_dir)
    try:
        if args.command == "backup":
            result = backup(data_dir / DATABASE_NAME, Path(args.destination),
                            overwrite=args.overwrite)
            rows = ", ".join(f"{k} {v}" for k, v in result.tables.items())
            print(f"backup: {result.path} ({result.bytes} bytes in {result.seconds:.2f} s;"
                  f" {rows})")
            print(f"backup: the server secret is not in it: keep {data_dir / 'secret'} too")
        else:
            kept = restore(Path(args.backup), data_dir)
            print(f"restore: {data_dir / DATABASE_NAME} now holds {args.backup}"
                  + (f"; the database it replaced is {kept}" if kept.name != DATABASE_NAME
                     else ""))
    except BackupError as exc:
        print(f"{args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0
