"""`voting backup` and `voting restore`: every table as portable, versioned, gzip-compressed JSON lines.

The file restores into an empty database of either kind (SQLite or PostgreSQL) with the same content:
the same rows and ids, the signed ballots' exact bytes, the hash chains, the checkpoints and
certificates. Its layout (format version 1), one JSON value per line:

    {"format": "wego-voting-backup", "version": 1, "alembic_revision": ..., "organization": ...,
     "tables": [{"name": "member", "columns": [["id", "int"], ...]}, ...], ...}     the header
    {"table": "member"}                                 then that table's rows, one array per line,
    [1, "Seoul", ...]                                   values in the header's column order
    {"end": "wego-voting-backup", "rows": {"member": 12, ...}, "sha256": "..."}     the trailer

Tables come in dependency order (Base.metadata.sorted_tables). Values by column kind: int, str,
bool as JSON; binary as base64; datetime as ISO 8601 UTC ("2017-10-26T09:00:00.000000Z"); date as
ISO 8601; json as [value] (a one-element array) or null for SQL NULL, so that a JSON null and an SQL
NULL stay apart. The trailer's sha256 covers every line before it: a truncated or altered file is
refused before anything is written.
"""

from __future__ import annotations

import base64
import binascii
import enum
import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    String,
    Table,
    TypeDecorator,
    func,
    inspect,
    null,
    select,
    text,
)
from sqlalchemy import table as table_clause
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ballots.chain import GENESIS
from ballots.signatures import InvalidKey, OrgKey

from . import models  # noqa: F401  (registers every table on Base.metadata)
from .extensions import Base, db, write_intent, writing

FORMAT = "wego-voting-backup"
VERSION = 1
BATCH = 500
GZIP_MAGIC = b"\x1f\x8b"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says what happened and what to do."""


# ------------------------------------------------------------------ values


def column_kind(column: Column[Any]) -> str:
    """How a column's values are written: int, str, bool, binary, datetime, date or json."""
    col_type = column.type
    if isinstance(col_type, TypeDecorator):
        col_type = col_type.impl_instance
    if isinstance(col_type, DateTime):
        return "datetime"
    if isinstance(col_type, Date):
        return "date"
    if isinstance(col_type, LargeBinary):
        return "binary"
    if isinstance(col_type, JSON):
        return "json"
    if isinstance(col_type, Boolean):
        return "bool"
    if isinstance(col_type, Integer):
        return "int"
    if isinstance(col_type, String):  # also Text and the enums (VARCHAR with a CHECK)
        return "str"
    raise BackupError(f"Column {column.table.name}.{column.name} has type {column.type!r}, which the backup format "
                      "does not know yet; teach voting/backup.py about it before backing up.")


def _encode(kind: str, value: Any, is_sql_null: bool = False) -> Any:
    if kind == "json":
        return None if is_sql_null else [value]
    if value is None:
        return None
    if kind == "binary":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "datetime":
        if value.tzinfo is None:  # a naive column: written as it is, without a zone
            return value.isoformat(timespec="microseconds")
        return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    if kind == "date":
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _decode(kind: str, value: Any) -> Any:
    """A value as read from the file, for inserting; ValueError when it does not fit its kind."""
    if kind == "json":
        if value is None:
            return null()  # SQL NULL
        if not isinstance(value, list) or len(value) != 1:
            raise ValueError("a JSON column's value must be null or a one-element array")
        return JSON.NULL if value[0] is None else value[0]
    if value is None:
        return None
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, found {value!r}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, found {value!r}")
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a string, found {value!r}")
    if kind == "str":
        return value
    if kind == "binary":
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            raise ValueError("garbled base64") from None
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    raise ValueError(f"unknown column kind {kind!r}")


def _line(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"


# ------------------------------------------------------------------ schema


def head_revision(engine: Engine) -> str | None:
    """The newest migration this version of the app knows."""
    from .migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def database_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def _layout() -> list[dict[str, Any]]:
    return [{"name": t.name, "columns": [[c.name, column_kind(c)] for c in t.columns]} for t in _tables()]


def _key_id(public_spki_b64: str) -> str:
    from ballots.signatures import PublicKey

    return PublicKey.from_spki_b64(public_spki_b64).key_id


# ------------------------------------------------------------------ backup


@dataclass
class BackupReport:
    path: Path
    revision: str | None
    rows: dict[str, int]
    org_key_id: str | None

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def write_backup(engine: Engine, out: Path, *, org_key: OrgKey | None, include_signing_key: bool = False) -> BackupReport:
    """Dump every table, as one consistent snapshot, to `out` (mode 0600, written atomically)."""
    if include_signing_key and org_key is None:
        raise BackupError("There is no organization signing key to include (--with-keys).")
    reader = write_intent.set(False)  # SQLite: a plain BEGIN, a snapshot that never takes the write lock
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":  # one snapshot for every table
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                header = _header(engine, conn, org_key, include_signing_key)
                rows = _write_file(conn, out, header)
    finally:
        write_intent.reset(reader)
    return BackupReport(out, header["alembic_revision"], rows, org_key.key_id if org_key else None)


def _header(engine: Engine, conn: Connection, org_key: OrgKey | None, include_signing_key: bool) -> dict[str, Any]:
    revision, head = database_revision(conn), head_revision(engine)
    if revision != head:
        raise BackupError(f"The database is at schema revision {revision or '(none)'}, but this version of the app "
                          f"expects {head}. Run `voting db upgrade` first, or back up with the version of the app "
                          "that matches the database.")
    unknown = sorted(set(inspect(conn).get_table_names()) - {t.name for t in _tables()} - {"alembic_version"})
    if unknown:
        raise BackupError(f"The database holds tables the app's models do not describe ({', '.join(unknown)}); "
                          "a backup would leave them out. Add them to voting/models first.")
    return {
        "format": FORMAT,
        "version": VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "alembic_revision": revision,
        "source": {"dialect": conn.dialect.name},
        "organization": None if org_key is None else {"public_key": org_key.public_spki_b64(), "key_id": org_key.key_id},
        "signing_key_pem": _pem(org_key) if include_signing_key and org_key is not None else None,
        "tables": _layout(),
    }


def _write_file(conn: Connection, out: Path, header: dict[str, Any]) -> dict[str, int]:
    """Write header, tables and trailer to out.partial, then move it into place; rows per table."""
    partial = out.with_name(out.name + ".partial")
    rows: dict[str, int] = {}
    digest = hashlib.sha256()
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a stale .partial may have had wider bits
    try:
        with os.fdopen(fd, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                def put(value: Any) -> None:
                    data = _line(value)
                    digest.update(data)
                    gz.write(data)

                put(header)
                for table in _tables():
                    put({"table": table.name})
                    rows[table.name] = _dump_table(conn, table, put)
                gz.write(_line({"end": FORMAT, "rows": rows, "sha256": digest.hexdigest()}))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return rows


def _dump_table(conn: Connection, table: Table, put: Any) -> int:
    kinds = [column_kind(c) for c in table.columns]
    json_cols = [c for c in table.columns if column_kind(c) == "json"]
    flags = [c.is_(None).label(f"_null_{i}") for i, c in enumerate(json_cols)]
    order = list(table.primary_key.columns) or list(table.columns)
    query = select(*table.columns, *flags).order_by(*order)
    count = 0
    width = len(table.columns)
    for row in conn.execute(query, execution_options={"stream_results": True, "yield_per": BATCH}):
        nulls = dict(zip((c.name for c in json_cols), row[width:], strict=True))
        put([_encode(kind, value, bool(nulls.get(col.name))) for kind, col, value
             in zip(kinds, table.columns, row[:width], strict=True)])
        count += 1
    return count


def _pem(key: OrgKey) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()).decode("ascii")


# ------------------------------------------------------------------ reading


@dataclass
class BackupFile:
    """A backup file checked from end to end (its header, every row, the trailer and its hash)."""

    path: Path
    header: dict[str, Any]
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _damaged(path: Path, why: str) -> BackupError:
    return BackupError(f"{path} is not a complete, intact backup ({why}). Nothing was restored. "
                       "Use another copy of the backup, or make a new one with `voting backup`.")


def _open(path: Path) -> Any:
    with path.open("rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == GZIP_MAGIC else path.open("rb")


def _read(path: Path) -> Iterator[tuple[str, Any, Any]]:
    """Yield ("header", header, None), then ("row", table, values decoded for inserting), then
    ("end", rows per table, None) once the trailer and the hash are checked. Raises BackupError."""
    digest = hashlib.sha256()
    header: dict[str, Any] | None = None
    layout: dict[str, list[tuple[str, str]]] = {}
    order: list[str] = []
    current: str | None = None
    counts: dict[str, int] = {}
    lineno = 0
    try:
        with _open(path) as fh:
            for lineno, data in enumerate(fh, start=1):
                if not data.endswith(b"\n"):
                    raise _damaged(path, f"line {lineno} is cut off")
                try:
                    value = json.loads(data)
                except ValueError:
                    if header is None:
                        raise _not_a_backup(path) from None
                    raise _damaged(path, f"line {lineno} is not JSON") from None
                if header is None:
                    header = _check_header(path, value)
                    for t in header["tables"]:
                        layout[t["name"]] = [(c[0], c[1]) for c in t["columns"]]
                        order.append(t["name"])
                    digest.update(data)
                    yield "header", header, None
                    continue
                if isinstance(value, dict) and "end" in value:
                    if value.get("end") != FORMAT or value.get("sha256") != digest.hexdigest():
                        raise _damaged(path, "its content does not match the checksum written with it")
                    if value.get("rows") != counts or list(counts) != order:
                        raise _damaged(path, "its row counts do not match the rows it holds")
                    if fh.read(1):
                        raise _damaged(path, "there is data after its end")
                    yield "end", counts, None
                    return
                digest.update(data)
                if isinstance(value, dict) and set(value) == {"table"}:
                    name = value["table"]
                    expected = order[len(counts)] if len(counts) < len(order) else None
                    if name != expected:
                        raise _damaged(path, f"line {lineno}: table {name!r} is out of place")
                    current, counts[name] = name, 0
                    continue
                if current is None or not isinstance(value, list) or len(value) != len(layout[current]):
                    raise _damaged(path, f"line {lineno} is not a row of the table it belongs to")
                try:
                    row = {col: _decode(kind, v) for (col, kind), v in zip(layout[current], value, strict=True)}
                except ValueError as err:
                    raise _damaged(path, f"line {lineno}, table {current}: {err}") from None
                counts[current] += 1
                yield "row", current, row
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise _damaged(path, f"the compressed data is cut off or garbled near line {lineno + 1}: {err}") from None
    except OSError as err:
        raise BackupError(f"Cannot read {path}: {err.strerror or err}.") from None
    if header is None:
        raise _damaged(path, "it is empty")
    raise _damaged(path, "it ends before its last line: the file is truncated")


def _not_a_backup(path: Path) -> BackupError:
    return BackupError(f"{path} is not a WeGO voting backup (made by `voting backup`). Nothing was restored.")


def _check_header(path: Path, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise _not_a_backup(path)
    if value.get("version") != VERSION:
        raise BackupError(f"{path} is a backup in format version {value.get('version')}; this version of the app "
                          f"reads version {VERSION}. Restore it with the version of the app that made it.")
    tables = value.get("tables")
    ok = isinstance(tables, list) and all(
        isinstance(t, dict) and isinstance(t.get("name"), str) and isinstance(t.get("columns"), list)
        and all(isinstance(c, list) and len(c) == 2 and all(isinstance(x, str) for x in c) for c in t["columns"])
        for t in tables)
    if not ok:
        raise _damaged(path, "its header's table list is malformed")
    org = value.get("organization")
    if org is not None and not (isinstance(org, dict) and isinstance(org.get("public_key"), str)):
        raise _damaged(path, "its header's organization key is malformed")
    if not isinstance(value.get("signing_key_pem") or "", str) or not isinstance(value.get("alembic_revision"), str):
        raise _damaged(path, "its header is malformed")
    return value


def check_backup(path: Path, on_header: Callable[[BackupFile], None] | None = None) -> BackupFile:
    """Read the whole file and check it; BackupError when it is not a complete, intact backup.
    `on_header` may refuse the file as soon as its header is read (a schema from another version)."""
    header: dict[str, Any] = {}
    for kind, a, _b in _read(path):
        if kind == "header":
            header = a
            if on_header is not None:
                on_header(BackupFile(path, header))
        elif kind == "end":
            return BackupFile(path, header, dict(a))
    raise _damaged(path, "it ends before its last line")  # pragma: no cover (_read raises first)


# ------------------------------------------------------------------ restore


@dataclass
class RestoreReport:
    backup: BackupFile
    migrated: bool
    key_written: Path | None
    warnings: list[str]


def _check_schema(engine: Engine, backup: BackupFile) -> None:
    head = head_revision(engine)
    revision = backup.header.get("alembic_revision")
    if revision != head:
        raise BackupError(f"{backup.path} was made at schema revision {revision}; this version of the app is at "
                          f"{head}. Restore it with the version of the app that made it (into an empty database), "
                          "then upgrade the app and run `voting db upgrade`.")
    if backup.header["tables"] != _layout():
        raise BackupError(f"{backup.path} lists tables or columns that differ from this app's models although the "
                          f"schema revision ({revision}) is the same; the models were changed without a migration. "
                          "Nothing was restored.")


def check_org_key(backup: BackupFile, key_path: Path, *, force: bool) -> tuple[str | None, list[str]]:
    """Compare the backup's organization key with this instance's. Returns (PEM to install, warnings);
    raises BackupError when they differ and `force` is off: checkpoints and certificates in the backup
    are signed by the backup's key, and every new signature would be made by this instance's key."""
    org = backup.header.get("organization")
    pem = backup.header.get("signing_key_pem")
    warnings: list[str] = []
    if org is None:
        warnings.append("The backup records no organization public key (its instance had none); the key was not checked.")
        return None, warnings
    wanted, wanted_id = org.get("public_key"), org.get("key_id")
    if pem is not None:
        try:
            from cryptography.hazmat.primitives import serialization

            key = OrgKey(serialization.load_pem_private_key(pem.encode("ascii"), password=None))  # type: ignore[arg-type]
        except (ValueError, TypeError, InvalidKey):
            raise _damaged(backup.path, "the signing key it holds is garbled") from None
        if key.public_spki_b64() != wanted:
            raise _damaged(backup.path, "the signing key it holds does not match the public key it records")
    why = ("Checkpoints and certificates in the backup are signed by the organization key "
           f"{wanted_id}; with another key, election records would name a key that did not sign them, "
           "and new signatures would not match the published key.")
    if not key_path.exists():
        if pem is not None:
            return pem, warnings
        if force:
            warnings.append(f"This instance has no organization signing key ({key_path}); the backup's key is "
                            f"{wanted_id}. Restored anyway (--force): a NEW key will be made on first use. {why}")
            return None, warnings
        raise BackupError(f"This instance has no organization signing key at {key_path}, and the backup's data is "
                          f"signed by key {wanted_id}. Copy org_signing_key.pem from the server that made the "
                          "backup to that path (mode 0600), or restore a backup made with `voting backup --with-keys`, "
                          f"then run `voting restore` again. {why} (--force restores without the key.)")
    try:
        mine = OrgKey.load_pem(key_path)
    except (OSError, InvalidKey) as err:
        raise BackupError(f"Cannot read this instance's organization key {key_path}: {err}") from None
    if mine.public_spki_b64() == wanted:
        return None, warnings
    if force:
        warnings.append(f"This instance's organization key ({mine.key_id}, {key_path}) differs from the backup's "
                        f"({wanted_id}); restored anyway (--force). {why}")
        return None, warnings
    hint = (" The backup holds its key: move this instance's key file aside and run `voting restore` again to install it."
            if pem is not None else
            " Put the backup's key (org_signing_key.pem from the server that made it) in its place and run "
            "`voting restore` again.")
    raise BackupError(f"This instance's organization key ({mine.key_id}, {key_path}) is not the one the backup "
                      f"was made with ({wanted_id}). {why}{hint} (--force restores anyway.)")


def _rows_present(conn: Connection) -> dict[str, int]:
    """Rows per table in the database, except the migrations' own genesis chain heads."""
    found: dict[str, int] = {}
    names = set(inspect(conn).get_table_names()) - {"alembic_version"}
    for name in sorted(names):
        if name == "chain_head":
            n = conn.execute(text("SELECT count(*) FROM chain_head WHERE seq <> 0 OR hash <> :g"), {"g": GENESIS}).scalar()
        else:
            n = conn.execute(select(func.count()).select_from(table_clause(name))).scalar()
        if n:
            found[name] = int(n)
    return found


def _refuse_non_empty(engine: Engine, found: dict[str, int]) -> BackupError:
    what = ", ".join(f"{t}: {n} rows" for t, n in list(found.items())[:5]) + (", …" if len(found) > 5 else "")
    return BackupError(f"The database {engine.url.render_as_string(hide_password=True)} already holds data ({what}). "
                       "A backup is restored only into an empty database, so that nothing is mixed or overwritten: "
                       "create a new database, point VOTING_DATABASE_URL at it, and run `voting restore` again.")


def restore_backup(engine: Engine, path: Path, *, key_path: Path, force: bool = False) -> RestoreReport:
    """Check the file end to end, then load it into the empty database in one transaction."""
    # Pass 1: nothing is written unless the whole file is intact and made for this schema.
    backup = check_backup(path, on_header=lambda b: _check_schema(engine, b))
    pem, warnings = check_org_key(backup, key_path, force=force)

    with engine.connect() as conn:
        found = _rows_present(conn)
        revision = database_revision(conn)
        conn.rollback()
    if found:
        raise _refuse_non_empty(engine, found)
    migrated = False
    if revision != head_revision(engine):
        from . import migrate

        try:
            migrate.upgrade(engine)  # an empty database: create the schema the backup was made with
        except SQLAlchemyError as err:
            raise BackupError(f"Could not create the schema in {engine.url.render_as_string(hide_password=True)} "
                              f"(is it a database this app made?): {getattr(err, 'orig', None) or err}. "
                              "Restore into a new, empty database.") from None
        migrated = True

    tables = {t.name: t for t in _tables()}
    with writing(), engine.connect() as conn:
        try:
            with conn.begin():
                found = _rows_present(conn)  # again, now inside the writing transaction
                if found:
                    raise _refuse_non_empty(engine, found)
                conn.execute(tables["chain_head"].delete())  # the genesis heads; the backup has the real ones
                batch: list[dict[str, Any]] = []
                current: str | None = None
                for kind, a, b in _read(path):  # pass 2: the same checks again, inserting as it goes
                    if kind == "row":
                        if a != current:
                            _flush(conn, tables, current, batch)
                            current = a
                        batch.append(b)
                        if len(batch) >= BATCH:
                            _flush(conn, tables, current, batch)
                _flush(conn, tables, current, batch)
                _reset_sequences(conn)
        except (DBAPIError, SQLAlchemyError) as err:
            raise BackupError(f"The database refused the backup's rows, so nothing was restored: "
                              f"{getattr(err, 'orig', None) or err}") from None
    written = None
    if pem is not None:
        key_path.parent.mkdir(parents=True, exist_ok=True)
        from cryptography.hazmat.primitives import serialization

        OrgKey(serialization.load_pem_private_key(pem.encode("ascii"), password=None)).save_pem(key_path)  # type: ignore[arg-type]
        written = key_path
    return RestoreReport(backup, migrated, written, warnings)


def _flush(conn: Connection, tables: dict[str, Table], name: str | None, batch: list[dict[str, Any]]) -> None:
    if name is not None and batch:
        conn.execute(tables[name].insert(), batch)
    batch.clear()


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: move each id sequence past the restored ids (SQLite takes max(rowid) + 1 itself)."""
    if conn.dialect.name != "postgresql":
        return
    for table in _tables():
        col = table.autoincrement_column
        if col is None:
            continue
        t, c = conn.dialect.identifier_preparer.quote(table.name), conn.dialect.identifier_preparer.quote(col.name)
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence(:t, :c), COALESCE(max({c}), 1), max({c}) IS NOT NULL) "
                          f"FROM {t}"), {"t": t, "c": col.name})


# ------------------------------------------------------------------ commands


def _instance_key() -> OrgKey | None:
    from .keys import org_key_path

    path = org_key_path()
    if not path.exists():
        return None
    try:
        return OrgKey.load_pem(path)
    except InvalidKey as err:
        raise click.ClickException(str(err)) from None


@click.command("backup")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="The file to write (gzip-compressed JSON lines), e.g. wego-$(date -u +%Y%m%dT%H%M%SZ).jsonl.gz.")
@click.option("--with-keys", is_flag=True,
              help="Also store the organization's signing key in the file (then keep the file as safe as the key).")
@with_appcontext
def backup_command(out: Path, with_keys: bool) -> None:
    """Write every table to FILE: a portable backup that `voting restore` loads into an empty database."""
    from .keys import org_key_path

    key = _instance_key()
    if key is None:
        if with_keys:
            raise click.ClickException(f"There is no organization signing key at {org_key_path()} to include.")
        click.echo(f"Warning: no organization signing key at {org_key_path()}; the backup records no public key.", err=True)
    try:
        report = write_backup(db.engine, out, org_key=key, include_signing_key=with_keys)
    except BackupError as err:
        raise click.ClickException(str(err)) from None
    tables = sum(1 for n in report.rows.values() if n)
    click.echo(f"Wrote {out}: {report.total} rows in {tables} tables (schema revision {report.revision}, "
               f"organization key {report.org_key_id or 'none'}).")
    click.echo("It holds personal data and password hashes: it was created readable by its owner only (0600); "
               "keep it so.")
    if with_keys:
        bar = "!" * 78
        click.echo(f"{bar}\n!! {out} HOLDS THE ORGANIZATION'S PRIVATE SIGNING KEY.\n"
                   "!! Whoever has this file can sign checkpoints and certificates as WeGO.\n"
                   "!! Keep it offline or encrypted, never with the ordinary backups.\n"
                   f"{bar}", err=True)


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True,
              help="Restore even when this instance's organization key is not the backup's (or is missing).")
@with_appcontext
def restore_command(file: Path, force: bool) -> None:
    """Load a backup FILE into this instance's EMPTY database (SQLite or PostgreSQL, either way round)."""
    from .keys import org_key_path
    from .services.audit import verify_audit_chain

    try:
        report = restore_backup(db.engine, file, key_path=org_key_path(), force=force)
    except BackupError as err:
        raise click.ClickException(str(err)) from None
    current_app.extensions.pop("voting.org_key", None)  # load the (possibly new) key file next time
    header = report.backup.header
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(f"Restored {report.backup.total} rows in {sum(1 for n in report.backup.rows.values() if n)} tables from "
               f"{file} (made {header.get('created_at')} on {header.get('source', {}).get('dialect')}, schema revision "
               f"{header.get('alembic_revision')}) into {db.engine.url.render_as_string(hide_password=True)}.")
    if report.migrated:
        click.echo("Created the database schema first.")
    if report.key_written:
        click.echo(f"Installed the backup's organization signing key at {report.key_written} (mode 0600).")
    brk = verify_audit_chain()
    db.session.rollback()
    if brk is not None:
        raise click.ClickException(f"The restored audit chain is BROKEN at event "
                                   f"{brk.seq if brk.seq is not None else brk.index + 1}: {brk.reason}.")
    click.echo(f"Audit chain holds: {report.backup.rows.get('audit_event', 0)} events. Restart the app servers "
               "so that every worker reloads the organization key.")
