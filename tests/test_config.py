"""``.attnkb/config.toml``: one reader, every failure a one-line error naming file and line."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnkb import config
from attnkb.errors import ConfigError
from attnkb.related_section import load_config as related
from attnkb.srs import config_edit
from attnkb.srs.config import load as review

NOTE = "# 甲\n\n注意力 attention\n\n### Q: 什么？\n答案\n"
DEEP_ARRAY = "a = " + "[" * 3000 + "]" * 3000 + "\n"
DEEP_TABLE = "[review]\nx = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n"
COMMANDS = {
    "review": ["review"],
    "due": ["due"],
    "stats": ["stats"],
    "list": ["list"],
    "search": ["search", "attention"],
    "related": ["related", "a.md"],
    "optimize": ["optimize"],
}


def read_all(state) -> None:
    """What every command reads from the file, table by table."""
    review(state)
    config.vault(state)
    related(state)
    config.cards(state)
    config_edit.read(state)  # optimize, before it writes parameters


@pytest.mark.parametrize("text", [DEEP_ARRAY, DEEP_TABLE], ids=["arrays", "inline-tables"])
@pytest.mark.parametrize("command", COMMANDS)
def test_deep_nesting_is_a_one_line_error_for_every_command(make_vault, cli, command, text):
    root = make_vault({"a.md": NOTE, "b.md": NOTE, ".attnkb/config.toml": text})
    r = cli("--vault", root, *COMMANDS[command], input="q\n")
    line = text.count("\n", 0, text.index("{" if "{" in text else "[["))
    assert r.exit_code == 2, r.output
    assert r.stderr == (
        f"attnkb: {root / '.attnkb' / 'config.toml'}:{line + 1}: invalid TOML: values nested more than"
        f" {config.MAX_DEPTH} levels deep\n"
    )


def test_nesting_up_to_the_limit_is_read(tmp_path):
    (tmp_path / "config.toml").write_text(f"a = {'[' * config.MAX_DEPTH}{']' * config.MAX_DEPTH}\n")
    value, depth = config.load(tmp_path).data["a"], 1
    while value:
        value, depth = value[0], depth + 1
    assert depth == config.MAX_DEPTH


def test_a_recursion_the_scan_misses_is_still_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "_scan", lambda text: ({}, 0, 0))
    (tmp_path / "config.toml").write_text(DEEP_ARRAY)
    with pytest.raises(ConfigError, match="nested too deeply"):
        config.load(tmp_path)


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (
            b"[review]\nfuzz = true\n[review\n",
            3,
            "invalid TOML: Cannot declare ('review',) twice",
        ),
        (b"[review]\nfuzz = true\nx = [1,\n", 4, "invalid TOML: "),
        (b"\xef\xbb\xbf[review]\nfuzz = 1\n", 2, "[review] fuzz must be true or false"),
        (b"[review]\xff\n", None, "not UTF-8 text (byte 8)"),
        (
            b"[vault]\nmax_note_bytes = 0\n",
            2,
            "[vault] max_note_bytes must be a whole number of bytes >= 1, not 0",
        ),
        (b"related = 5\n", 1, "related must be a table ([related]), not a value or a list"),
        (b"[[vault]]\n", 1, "vault must be a table ([vault]), not a value or a list"),
        (b"review.new_per_day = -1\n", 1, "[review] new_per_day must be a whole number"),
        (b'review = {fuzz = "no"}\n', 1, "[review] fuzz must be true or false"),
        (b'[review]\n"desired_retention" = 2\n', 2, "[review] desired_retention must be a number"),
        (b"[ review ]\n  'new_order' = 'x'  # mine\n", 2, "[review] new_order must be one of"),
        (b'[related]\nx = """\n[review]\nlimit = 1\n"""\nlimit = 0\n', 6, "[related] limit must be"),
        (b"# a\r\n[related]\r\nmin = 101\r\n", 3, "[related] min must be a percentage from 0 to 100"),
        (b"[cards]\n\nclozes = [[1]]\n", 3, "[cards] clozes must be a list of 'highlight', 'bold', 'curly'"),
    ],
)
def test_mistakes_name_the_file_line_and_key(tmp_path, content, line, message):
    (tmp_path / "config.toml").write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        read_all(tmp_path)
    assert caught.value.path == str(tmp_path / "config.toml")
    assert caught.value.line == line and caught.value.message.startswith(message), caught.value


def test_an_oversized_file_is_refused_unread(tmp_path):
    (tmp_path / "config.toml").write_bytes(b"#" * (config.MAX_CONFIG_BYTES + 1))
    with pytest.raises(ConfigError, match="too large for a settings file"):
        config.vault(tmp_path)


def test_unknown_tables_and_keys_are_warned_with_their_line(make_vault, cli):
    text = "# mine\n[reveiw]\nfuzz = false\n\n[vault]\nmax_note_size = 5\n[related]\nlimt = 3\n[cards]\ncloze = 1\n"
    root = make_vault({"a.md": NOTE, "b.md": NOTE, ".attnkb/config.toml": text})
    path = root / ".attnkb" / "config.toml"
    r = cli("--vault", root, "list")
    assert r.exit_code == 0
    assert re.findall(r"attnkb: (.*)\n", r.stderr) == [
        f"{path}:2: warning: unknown table [reveiw] (ignored); known tables: [review], [vault], [related], [cards], [checklist]",
        f"{path}:6: warning: unknown key [vault] max_note_size (ignored); known keys: max_note_bytes, exclude",
        f"{path}:10: warning: unknown key [cards] cloze (ignored); known keys: clozes",
    ]
    r = cli("--vault", root, "related", "a.md")
    assert r.exit_code == 0 and f"{path}:8: warning: unknown key [related] limt (ignored)" in r.stderr


def test_the_file_is_parsed_once_while_its_bytes_stay_the_same(tmp_path, monkeypatch):
    import tomllib

    calls = []
    real = tomllib.loads
    monkeypatch.setattr(tomllib, "loads", lambda text: calls.append(text) or real(text))
    (tmp_path / "config.toml").write_text("[review]\nnew_per_day = 3\n")
    read_all(tmp_path)
    read_all(tmp_path)
    assert len(calls) == 1
    (tmp_path / "config.toml").write_text("[review]\nnew_per_day = 4\n")
    assert review(tmp_path).new_per_day == 4 and len(calls) == 2


toml_text = st.text(
    alphabet=st.sampled_from(list("[]{}=\"'#.,\n\r\t -_019abefilnrstuvwxz\\\ufeff")), max_size=200
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=toml_text | st.text(max_size=200))
def test_any_text_reads_or_is_a_config_error(tmp_path, text):
    (tmp_path / "config.toml").write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        read_all(tmp_path)
    except ConfigError as exc:
        assert exc.path == str(tmp_path / "config.toml") and "\n" not in exc.message.strip()


leaf = st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.dates()
values = st.recursive(
    leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
keys = st.sampled_from(["review", "vault", "related", "cards", "other", 'a"b', "a.b", " "]) | st.text(
    max_size=5
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    document=st.dictionaries(
        keys,
        st.dictionaries(
            keys | st.sampled_from(["limit", "fuzz", "clozes", "max_note_bytes"]), values, max_size=4
        )
        | values,
        max_size=4,
    )
)
def test_any_valid_toml_reads_or_names_the_table_and_line(tmp_path, document):
    import tomlkit

    text = tomlkit.dumps(document)
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    try:
        read_all(tmp_path)
    except ConfigError as exc:
        named = re.match(r"\[(\w+)\] (\w+) |(\w+) must be a table", exc.message)
        assert named, exc.message
        assert exc.line is not None
        written = text.split("\n")[exc.line - 1]
        assert any(word in written for word in named.groups() if word), (written, exc.message)
