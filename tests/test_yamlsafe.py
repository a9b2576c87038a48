"""Hostile YAML in front matter and attention blocks: reported with its line, never a crash."""

import itertools
import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnkb import yamlsafe
from attnkb.frontmatter import parse


def laughs(levels: int = 9) -> str:
    """The classic billion laughs: 9**levels strings from a few hundred bytes."""
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for prev, name in itertools.pairwise("abcdefghijklmnop"[:levels]):
        text += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    return text


@pytest.mark.parametrize(
    "text,line,message",
    [
        ("title: x\ndate: 2026-02-30\n", 1, "invalid timestamp '2026-02-30': day is out of range"),
        ("t: 2026-01-01 10:00:00+99:00\n", 0, "invalid timestamp"),
        ("a: 1\nb: [1, !!int abc]\n", 1, "invalid int 'abc'"),
        ("a: !!bool maybe\n", 0, "invalid bool"),
        ("x: 1\na: &x [*x]\n", 1, "alias *x refers to itself"),
        ("a: &x {b: *x}\n", 0, "alias *x refers to itself"),
        ("a: " + "[" * 600 + "]" * 600 + "\n", 0, f"nested deeper than {yamlsafe.MAX_DEPTH} levels"),
        # the C composer would crash the process (and PyYAML 6.0.4's libyaml refuses it first)
        ("a: " + "[" * 100_000, 0, f"nested deeper than {yamlsafe.MAX_DEPTH} levels"),
        ("a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 100)), 64, "nested deeper"),
        (laughs(), 4, "aliases expand to more than 10,000 nodes"),
        ("a: *nowhere\n", 0, "undefined alias"),
    ],
    ids=lambda x: x[:20] if isinstance(x, str) else str(x),
)
def test_hostile_documents_raise_yaml_errors_with_their_line(text, line, message):
    with pytest.raises(yaml.YAMLError) as info:
        yamlsafe.load(text)
    assert message in info.value.problem
    assert info.value.problem_mark.line == line


def test_libyamls_own_nesting_limit_is_reported_as_ours(monkeypatch):
    """Newer PyYAML wheels stop a long run of "[" in the scanner, with libyaml's words: the
    note still gets our message, at the line libyaml gave."""
    mark = yaml.Mark("front matter", 0, 3, 3, None, None)
    problem = "exceeded maximum nesting depth"

    def scan_ahead(loader):
        raise yaml.scanner.ScannerError("while increasing flow level", mark, problem, mark)

    monkeypatch.setattr(yamlsafe, "_compose", scan_ahead)
    with pytest.raises(yamlsafe.LimitError) as info:
        yamlsafe.load("a: " + "[" * 100)
    assert info.value.problem == f"nested deeper than {yamlsafe.MAX_DEPTH} levels; refusing it"
    assert info.value.problem_mark.line == 3
    problem = "found a tab"  # any other scanner error is passed on as it is
    with pytest.raises(yaml.scanner.ScannerError, match="found a tab"):
        yamlsafe.load("a: " + "[" * 100)


def test_normal_documents_load_as_pyyaml_does_with_their_nodes():
    text = "title: T\ntags: [a, b]\ndate: 2025-10-01\nm: {a: 1, <<: {b: 2}}\nv: &w [[1, 2]]\ne: {w: *w}\n"
    assert yamlsafe.load(text)[0] == yaml.safe_load(text)
    plain = "title: T\ntags: [a, b]\nv: &w [[1, 2]]\ne: {w: *w}\n"
    assert str(yamlsafe.load(plain)[1]) == str(yaml.compose(plain))
    assert yamlsafe.load("") == (None, None) and yamlsafe.load("# only a comment\n") == (None, None)
    # aliases within the budget are fine, and so is nesting up to the limit
    assert yamlsafe.load(laughs(3))[0]["c"][8][8] == ["lol"] * 9
    depth = yamlsafe.MAX_DEPTH
    assert yamlsafe.load("[" * depth + "]" * depth)[0] is not None


def test_front_matter_problem_names_the_file_line():
    fm = parse("title: x\ndate: 2026-02-30\n", first_line=2)
    assert fm.data == {} and fm.problems[0].line == 3
    assert "invalid timestamp '2026-02-30'" in fm.problems[0].message


def test_bad_front_matter_is_one_problem_and_the_vault_keeps_working(make_vault, cli):
    root = make_vault(
        {
            "bad.md": "---\ntitle: Bad\ndate: 2026-02-30\n---\n# Bad\n\nSee [[good]].\n",
            "offset.md": "---\nwhen: 2026-01-01 10:00:00+99:00\n---\n# Offset\n",
            "loop.md": "---\na: &x [*x]\n---\n# Loop\n",
            "deep.md": "---\na: " + "[" * 600 + "]" * 600 + "\n---\n# Deep\n",
            "laughs.md": "---\n" + laughs() + "---\n# Laughs\n",
            "good.md": "---\ntitle: Good\n---\n# Good\n\n[[bad]]\n",
        }
    )
    r = cli("--vault", root, "check", "--json")
    assert r.exit_code == 1, r.output
    errors = {(p["path"], p["line"]) for p in json.loads(r.stdout)["problems"] if p["severity"] == "error"}
    assert errors == {("bad.md", 3), ("offset.md", 2), ("loop.md", 2), ("deep.md", 2), ("laughs.md", 6)}
    r = cli("--vault", root, "check")
    assert "bad.md:3: invalid front matter: invalid timestamp '2026-02-30'" in r.stderr
    assert "laughs.md:6: invalid front matter: aliases expand to more than 10,000 nodes" in r.stderr
    listed = cli("--vault", root, "list", "--json")
    assert listed.exit_code == 0
    assert len(json.loads(listed.stdout)) == 6
    assert cli("--vault", root, "show", "bad").exit_code == 0


def test_bad_yaml_in_a_block_is_an_invalid_block_and_the_rest_runs(make_vault, cli):
    good = "```attention\nop: softmax\nscores: [[0, 0]]\nexpect:\n  weights: [[0.5, 0.5]]\n```\n"
    bodies = [
        "op: softmax\nscores: [[0, 0]]\ntitle: 2026-02-30",
        "op: softmax\nscores: &s [[0, *s]]",
        "op: softmax\nscores: " + "[" * 600 + "]" * 600,
        laughs() + "op: softmax\nscores: [[0]]",
    ]
    text = "# N\n\n" + "".join(f"```attention\n{b}\n```\n\n" for b in bodies) + good
    root = make_vault({"n.md": text})
    r = cli("--vault", root, "run-example", "n.md", "--json")
    results = json.loads(r.stdout)
    assert [x["status"] for x in results] == ["error"] * 4 + ["pass"]
    assert [x["line"] for x in results[:4]] == [6, 11, 16, 24]
    assert "invalid timestamp" in results[0]["message"]
    assert "refers to itself" in results[1]["message"]
    assert "nested deeper" in results[2]["message"]
    assert "aliases expand" in results[3]["message"]


YAML_BITS = st.sampled_from(
    ["a", ": ", "- ", "[", "]", "{", "}", ", ", "&x ", "*x", "&y ", "*y", "\n", "  ", "!!int ", "!!timestamp ",
     "2026-02-30", "1e400", ".nan", "? ", "<<: ", "'", '"', "|\n", "#", "!!binary ", "!!python/name:os ", "~"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(YAML_BITS, max_size=40).map("".join) | st.text(max_size=60))
def test_any_text_loads_or_raises_a_marked_yaml_error(text):
    try:
        yamlsafe.load(text)
    except yaml.MarkedYAMLError as exc:
        assert exc.problem
    except yaml.YAMLError:
        pass  # the reader's errors (bad characters) carry their own position
    fm = parse(text)
    assert fm.problems or isinstance(fm.data, dict)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(YAML_BITS, max_size=30).map("".join))
def test_any_front_matter_leaves_the_vault_working(make_vault, cli, front):
    root = make_vault({"a.md": f"---\n{front}\n---\n# A\n\n[[b]]\n", "b.md": "# B\n\n[[a]]\n"})
    listed = cli("--vault", root, "list", "--json")
    assert listed.exit_code == 0 and "internal error" not in listed.output, front
    assert sorted(n["path"] for n in json.loads(listed.stdout)) == ["a.md", "b.md"]
    checked = cli("--vault", root, "check", "--json")
    assert checked.exit_code in (0, 1) and "internal error" not in checked.output, front
    assert all(p["path"] != "b.md" for p in json.loads(checked.stdout)["problems"])


def test_exponent_numbers_are_numbers_in_blocks_and_text_in_front_matter():
    text = "a: 1e-3\nb: -2E5\nc: 1.5e2\nd: 1e\ne: e5\n"
    assert yamlsafe.load(text, exponent_floats=True)[0] == {
        "a": 0.001,
        "b": -200000.0,
        "c": 150.0,
        "d": "1e",
        "e": "e5",
    }
    assert yamlsafe.load(text)[0]["a"] == "1e-3"  # front matter keeps what YAML 1.1 says
