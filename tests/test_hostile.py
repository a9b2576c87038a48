"""Hostile vaults: whatever the front matter, file names and bodies, every command ends with a
clear message and a contract exit code, never an internal error or a traceback."""

import itertools
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NOW = {"ATTNKB_NOW": "2026-11-21T10:00:00+00:00"}
TRICKY = [
    "---",
    "\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    ":",
    "- ",
    "[",
    "]",
    "[[",
    "]]",
    "|",
    "#",
    "### Q: ",
    "**Q: ",
    "A: ",
    "::",
    "`",
    "```",
    "```attention\n",
    "$",
    "\\",
    "'",
    '"',
    "{",
    "}",
    "&a",
    "*a",
    "!!",
    "? ",
    "\x00",
    "\x1b[2J",
    "\x07",
    "\u2028",
    "\x85",
    "\x0c",
    "\ufeff",
    "\ud800",
    "注意力",
    "é",
    "2026-02-30",
    "[/INST]",
    "[b]",
    "# ",
    "\n# ",
    "title",
    "tags",
    "aliases",
    "related",
    "next_review",
    "review_count",
    "mastery_level",
    "date",
]
FM_KEYS = ["title", "tags", "aliases", "related", "next_review", "review_count", "mastery_level", "date", "x"]

pieces = st.lists(st.sampled_from(TRICKY) | st.text(max_size=6), max_size=25).map("".join)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | st.sampled_from(TRICKY),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
quoted = pieces.map(json.dumps)  # a JSON string is a YAML double-quoted one: any text gets in
front_matter = st.one_of(
    pieces,
    st.dictionaries(st.sampled_from(FM_KEYS), values | quoted, max_size=5).map(
        lambda d: "".join(f"{k}: {v if isinstance(v, str) else json.dumps(v)}\n" for k, v in d.items())
    ),
)
name_text = st.text(
    st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1, max_size=20
)
raw_name = st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\x00" not in b)
file_names = st.one_of(name_text, raw_name.map(os.fsdecode)).filter(
    lambda n: not n.startswith(".") and len(os.fsencode(n)) < 200
)
notes = st.lists(
    st.tuples(file_names, st.none() | front_matter, pieces, st.booleans()), min_size=1, max_size=3
)
counter = itertools.count()


def assert_clean(r, args):
    assert r.exit_code in (0, 1, 2), (args, r.exit_code, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), (args, repr(r.exception))
    assert "internal error" not in r.output and "Traceback" not in r.output, (args, r.output)
    if r.exit_code == 2:
        assert r.stderr.startswith("attnkb: "), (args, r.stderr)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(vault=notes)
def test_hostile_vaults_never_crash_a_command(vault, tmp_path, cli):
    root = tmp_path / f"v{next(counter)}"
    root.mkdir()
    for name, fm, body, crlf in vault:
        text = body if fm is None else f"---\n{fm}\n---\n{body}"
        if crlf:
            text = text.replace("\n", "\r\n")
        path = root / (name if name.lower().endswith(".md") else name + ".md")
        path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    for args in (
        ("list",),
        ("list", "--json"),
        ("check",),
        ("check", "--json"),
        ("due",),
        ("due", "--json"),
        ("run-example", "--all"),
        ("run-example", "--all", "--json"),
        ("search", "注意"),
        ("search", "a", "--json"),
    ):
        assert_clean(cli("--vault", root, *args, env=NOW), args)
    for keys in ("\n3\n\n1\n\n4\nu\n\n2\nq\n", "s\n\n3\n"):
        assert_clean(cli("--vault", root, "review", input=keys, env=NOW), ("review", keys))
    assert_clean(cli("--vault", root, "list", "--json", env=NOW), ("list after review",))
