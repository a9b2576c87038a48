"""Full-text search: Chinese by character, query syntax, ranking, incremental index."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnkb import search
from attnkb.vault import Index
from tests.conftest import need_shared

STARTER = __import__("pathlib").Path(search.__file__).parent / "data" / "starter"


def _paths(cli, root, *query: str) -> list[str]:
    result = cli("--vault", root, "search", *query, "--json", "--limit", "100")
    assert result.exit_code == 0, result.output
    return [row["path"] for row in json.loads(result.stdout)]


@pytest.fixture
def starter(tmp_path):
    root = tmp_path / "starter"
    shutil.copytree(STARTER, root)
    return root


def test_chinese_queries_of_any_length_and_mixed(cli, starter):
    for query in (["头"], ["注意"], ["注意力"], ["QKV", "矩阵"]):
        found = _paths(cli, starter, *query)
        assert found, query
        text = "".join(query)
        for path in found[:5]:
            body = (starter / path).read_text(encoding="utf-8")
            assert all(part.lower() in body.lower() for part in query), (query, path)
    # a run in the middle of a sentence matches (unicode61 alone would miss it)
    assert "多头注意力.md" in _paths(cli, starter, "头注意")
    del text


def test_shared_interview_vault(cli, tmp_path):
    root = tmp_path / "iv"
    shutil.copytree(need_shared("reference", "interview-vault"), root)
    for query in ("残", "残差", "反向传", "ResNet 残差"):
        found = _paths(cli, root, *query.split())
        assert found, query
        body = (root / found[0]).read_text(encoding="utf-8")
        assert all(p.lower() in body.lower() for p in query.split())


def test_rows_lines_and_ranking(cli, make_vault):
    root = make_vault(
        {
            "a.md": "---\ntitle: 缩放点积\ntags: [math]\n---\n# 缩放点积\n\n正文。\n",
            "b.md": "# 别的\n\n第一行\n第二行提到缩放点积的用法\n",
            "c.md": "# Other\n\nNothing here about attention scaling.\n",
            **{f"filler{i}.md": f"无关 {i}\n" for i in range(6)},
        }
    )
    rows = json.loads(cli("--vault", root, "search", "缩放点积", "--json").stdout)
    assert [r["path"] for r in rows] == ["a.md", "b.md"]  # title above body
    assert set(rows[0]) == {"path", "title", "line", "snippet", "score"}
    assert rows[1]["line"] == 4 and "缩放点积" in rows[1]["snippet"]
    assert rows[0]["score"] > rows[1]["score"] > 0
    tagged = json.loads(cli("--vault", root, "search", "缩放", "--tag", "math", "--json").stdout)
    assert [r["path"] for r in tagged] == ["a.md"]
    plain = cli("--vault", root, "search", "atten")
    assert plain.exit_code == 0 and "c.md:3" in plain.stdout and "\x1b" not in plain.stdout


def test_query_syntax(cli, make_vault):
    root = make_vault(
        {
            "1.md": "alpha beta gamma\n",
            "2.md": "alpha delta\n",
            "3.md": "beta alpha\n",
            "4.md": "epsilon\n",
            "5.md": "first\n\nCafé au lait\n",
        }
    )
    assert sorted(_paths(cli, root, "alpha", "beta")) == ["1.md", "3.md"]
    assert _paths(cli, root, '"alpha beta"') == ["1.md"]
    assert sorted(_paths(cli, root, "alpha", "-beta")) == ["2.md"]
    assert sorted(_paths(cli, root, "delta", "OR", "epsilon")) == ["2.md", "4.md"]
    assert sorted(_paths(cli, root, "ALP")) == ["1.md", "2.md", "3.md"]  # prefix, any case
    assert _paths(cli, root, "zeta") == []
    rows = json.loads(cli("--vault", root, "search", "cafe", "--json").stdout)  # diacritics folded
    assert [(r["path"], r["line"]) for r in rows] == [("5.md", 3)] and "Café" in rows[0]["snippet"]


@pytest.mark.parametrize(
    "query", ['"open', "-alpha", "OR", "alpha OR", "OR alpha", "alpha OR -beta", "!!!", "a OR OR b"]
)
def test_malformed_queries_are_clear_errors(cli, make_vault, query):
    root = make_vault({"1.md": "alpha\n"})
    result = cli("--vault", root, "search", *query.split())
    assert result.exit_code == 2
    assert result.stderr.startswith("attnkb: ") and "sqlite" not in result.stderr.lower()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab 注意\"-*()^:OR{}\\.'"), max_size=20))
def test_any_query_is_a_search_or_a_query_error(query):
    db = sqlite3.connect(":memory:")
    search.create(db)
    db.execute("INSERT INTO fts VALUES ('x.md', '[]', 'a', '', '', ?)", (search.spaced("ab 注意 OR"),))
    with contextlib.suppress(search.QueryError):
        search.search(db, query)


def test_index_follows_edits_and_deletions(make_vault):
    root = make_vault({"a.md": "苹果\n", "b.md": "香蕉\n"})

    def found(q):
        return Index(root).ask(lambda db: [h.path for h in search.search(db, q)])

    assert found("苹果") == ["a.md"]
    (root / "a.md").write_text("橙子 and more\n", encoding="utf-8")
    (root / "b.md").unlink()
    (root / "c.md").write_text("苹果派\n", encoding="utf-8")
    assert found("苹果") == ["c.md"]
    assert found("橙") == ["a.md"] and found("香蕉") == []


def test_read_only_vault_searches_in_memory(make_vault, monkeypatch):
    root = make_vault({"a.md": "注意力\n"})
    monkeypatch.setattr(Index, "_open", lambda self: None)
    assert Index(root).ask(lambda db: [h.path for h in search.search(db, "意")]) == ["a.md"]
    assert not (root / ".attnkb").exists()


def test_a_query_overlapping_the_freshness_check_is_asked_again_only_after_a_change(make_vault):
    """Warm, the query put to the cache while the vault is listed is the answer; after an edit
    it is put again to the refreshed index, and a malformed query is still a clear error."""
    root = make_vault({"a.md": "苹果\n", "b.md": "香蕉\n"})
    (root / ".attnkb").mkdir(exist_ok=True)
    asked = []

    def question(db):
        asked.append(1)
        return [h.path for h in search.search(db, "苹果")]

    assert Index(root).ask(question) == ["a.md"]  # cold: builds the cache
    asked.clear()
    assert Index(root).ask(question) == ["a.md"] and len(asked) == 1
    asked.clear()
    (root / "a.md").write_text("橙子\n", encoding="utf-8")
    (root / "c.md").write_text("苹果派\n", encoding="utf-8")
    assert Index(root).ask(question) == ["c.md"] and len(asked) == 2
    with pytest.raises(search.QueryError):
        Index(root).ask(lambda db: search.search(db, '"'))


def test_control_characters_and_markup_never_reach_the_terminal(cli, make_vault):
    root = make_vault({"x.md": "# [bold red]T\x1b[31m\n\nhit \x1b]0;pwn\x07 [link=file:///]here[/link]\n"})
    result = cli("--vault", root, "search", "hit")
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "[link=file:///]" in result.stdout


def test_unlinked_mentions(cli, make_vault):
    root = make_vault(
        {
            "多头注意力.md": "---\naliases: [MHA]\n---\n# 多头注意力 (Multi-Head Attention)\n\n正文\n",
            "linked.md": "讲到多头注意力，见 [[多头注意力]]。\n",
            "named.md": "# N\n\n这里用了多头注意力\n",
            "alias.md": "Uses MHA here.\n",
            "none.md": "多头 and 注意力 apart\n",
        }
    )
    result = cli("--vault", root, "links", "MHA", "--mentions", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["mentions"]
    assert sorted(r["path"] for r in rows) == ["alias.md", "named.md"]
    assert next(r for r in rows if r["path"] == "named.md")["line"] == 3
    text = cli("--vault", root, "links", "多头注意力", "--mentions")
    assert "named.md:3" in text.stdout and "linked.md" not in text.stdout


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            ["a", "Z", " ", "\n", "注", "意", "ア", "한", "\U00020000", "é", "\ud800", search.SEP]
        ),
        max_size=60,
    )
)
def test_bulk_indexing_lays_out_text_as_the_one_note_path_does(text):
    assert search.spaced(text, vectorized=True) == search.spaced(text)


def test_a_word_in_every_note_still_gets_scores_that_order_the_hits(cli, make_vault):
    """bm25 gives a word found in most notes a tiny weight; the JSON keeps it, not 0.0."""
    root = make_vault(
        {"a.md": "# 注意力\n\n注意力 注意力\n", "b.md": "# 别的\n\n注意力\n", "c.md": "注意力\n"}
    )
    rows = json.loads(cli("--vault", root, "search", "注意力", "--json").stdout)
    assert rows[0]["path"] == "a.md" and all(r["score"] > 0 for r in rows)
    assert rows[0]["score"] > rows[-1]["score"]
