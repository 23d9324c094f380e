"""The history database itself (issue 16, item 3): every shipped schema version migrates to the
current one with its rows intact (crates/engine/tests/store_schema.rs, a real Rust test binary)."""

from suite import Case


def schema_versions(ctx):
    figures = ctx.cargo_test("claude-status-engine", "store_schema")
    if not figures.get("schema_versions"):
        raise AssertionError(f"store_schema printed no figures: {figures}")
    return figures


CASES = [
    Case(
        "db-schema-versions",
        "a database from each shipped schema version (migrations 1..=k, rows in every table with "
        "that version's columns) opens at the current version with every old row and column intact",
        schema_versions,
        timeout=600,
    ),
]
