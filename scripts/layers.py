#!/usr/bin/env python3
"""The server's layering, measured: what issue 18 asks of crates/server/src.

    python3 scripts/layers.py          # the figures
    python3 scripts/layers.py --list   # and every offending file, statement and arrow

Prints:
- source files over 1,000 lines;
- SQL statements written identically in the SQLite-only and the PostgreSQL-only code (db/sqlite,
  db/postgres, any `mod sqlite` / `mod postgres` inside a feature, and the two files of a
  migration version), once `?N` reads `$N`;
- import arrows that cross the three layers the wrong way: a feature naming `http`, or `db`
  naming a feature. Layers: http = http/, conn.rs, dashboard.rs; db = db/, store.rs,
  migrate.rs; the entry points (lib.rs, fuzzing.rs) may name anything; every other file is a
  feature;
- features that name axum or a database driver (rusqlite, tokio_postgres, deadpool_postgres).
Reads the files as text; standard library only.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "crates" / "server" / "src"
HTTP_FILES = {"conn", "dashboard"}
DB_FILES = {"store", "migrate"}
ENTRY = {"lib", "fuzzing"}
SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|ALTER|DROP)\b", re.I)


def module_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    return rel.parts[0]


def layer_of_module(name: str) -> str:
    if name in ("http", "api") or name in HTTP_FILES:
        return "http"
    if name in ("db", "sqlite", "postgres") or name in DB_FILES:
        return "db"
    if name in ENTRY:
        return "entry"
    return "feature"


def strings(text: str):
    """Rust string literals, plain and raw."""
    for m in re.finditer(r'r(#+)"(.*?)"\1|"((?:[^"\\]|\\.)*)"', text, re.S):
        yield m.group(2) if m.group(2) is not None else m.group(3)


def norm(sql: str) -> str:
    sql = sql.replace("\\n", " ")
    sql = re.sub(r"\?(\d+)", r"$\1", sql)
    return " ".join(sql.split())


def dialect_parts(path: Path, text: str):
    """(dialect, text) of the code that belongs to one database only."""
    rel = path.relative_to(ROOT).as_posix()
    if rel.startswith("db/sqlite") or rel == "sqlite.rs":
        yield "sqlite", text
        return
    if rel.startswith("db/postgres") or rel == "postgres.rs":
        yield "postgres", text
        return
    for m in re.finditer(r"(?m)^pub mod (sqlite|postgres) \{\n(.*?)^\}\n", text, re.S):
        yield m.group(1), m.group(2)


def main() -> int:
    listing = "--list" in sys.argv
    files = sorted(p for p in ROOT.rglob("*.rs"))
    long = [(p, len(p.read_text().splitlines())) for p in files]
    long = [(p, n) for p, n in long if n > 1000]

    statements = {"sqlite": set(), "postgres": set()}
    for p in files:
        for dialect, text in dialect_parts(p, p.read_text()):
            for s in strings(text):
                if SQL_START.match(s):
                    statements[dialect].add(norm(s))
    # The migrations: a version's `.sqlite.sql` and `.postgres.sql` files hold only what their
    # dialects spell differently; a statement in both belongs in the version's shared file.
    for p in sorted(ROOT.rglob("*.sqlite.sql")):
        for dialect, f in (("sqlite", p), ("postgres", p.with_name(p.name.replace(".sqlite.", ".postgres.")))):
            if f.exists():
                text = re.sub(r"--[^\n]*", "", f.read_text())
                statements[dialect].update(f"{p.name.split('.')[0]}: {norm(x)}" for x in text.split(";") if x.strip())
    same = sorted(statements["sqlite"] & statements["postgres"])

    arrows = []
    for p in files:
        here = module_of(p)
        layer = layer_of_module(here)
        text = p.read_text()
        # `crate::params` is the statement-parameter macro of db/, not a module.
        named = set(re.findall(r"\bcrate::([a-z_]+)\b(?!!)", text)) - {"params"}
        for other in sorted(named - {here}):
            there = layer_of_module(other)
            if (layer == "feature" and there == "http") or (layer == "db" and there == "feature"):
                arrows.append((p.relative_to(ROOT).as_posix(), layer, other, there))

    # Features know neither axum nor a database driver.
    drivers = re.compile(r"\b(axum|rusqlite|tokio_postgres|deadpool_postgres)::")
    leaks = [
        p.relative_to(ROOT).as_posix()
        for p in files
        # Tests (at the end of a file) may open an in-memory SQLite to check a feature's SQL.
        if layer_of_module(module_of(p)) == "feature" and drivers.search(p.read_text().split("#[cfg(test)]")[0])
    ]

    print(f"source files over 1,000 lines: {len(long)}")
    for p, n in long:
        print(f"  {p.relative_to(ROOT)}: {n}")
    print(f"SQL statements written identically for both databases: {len(same)}")
    if listing:
        for s in same:
            print(f"  {s[:140]}")
    print(f"import arrows against the layers (feature -> http, db -> feature): {len(arrows)}")
    by_kind = {}
    for _, layer, _, there in arrows:
        by_kind[(layer, there)] = by_kind.get((layer, there), 0) + 1
    for (a, b), n in sorted(by_kind.items()):
        print(f"  {a} -> {b}: {n}")
    if listing:
        for f, _, other, there in arrows:
            print(f"  {f} names crate::{other} ({there})")
    print(f"features naming axum or a database driver: {len(leaks)}")
    if listing:
        for f in leaks:
            print(f"  {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
