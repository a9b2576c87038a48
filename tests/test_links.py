import json

import pytest

from attnkb.graph import Graph
from attnkb.note import parse_text


def graph(files: dict[str, str]) -> Graph:
    return Graph([parse_text(p, t) for p, t in files.items()])


def test_resolution_order_and_ambiguity():
    g = graph(
        {
            "a/Note.md": "[[Other]] [[sub/Deep]] [[Same]] [[alias-x]] [[Titled Thing]] [[same]]",
            "a/Other.md": "# Other\n",
            "b/Other.md": "# Other b\n",
            "a/sub/Deep.md": "x",
            "c/Same.md": "x",
            "d/same.md": "x",
            "e/aliased.md": "---\naliases: [alias-x]\n---\n",
            "f/t.md": "---\ntitle: Titled Thing\n---\n",
        }
    )
    res = {e.link.target: e.resolution for e in g.outgoing("a/Note.md")}
    assert res["Other"].path == "a/Other.md"  # relative to the note first
    assert res["sub/Deep"].path == "a/sub/Deep.md"
    assert res["Same"].path == "c/Same.md"  # exact case preferred
    assert res["same"].path == "d/same.md"
    assert res["alias-x"].path == "e/aliased.md"
    assert res["Titled Thing"].path == "f/t.md"

    g2 = graph({"x.md": "[[Other]]", "a/Other.md": "", "b/Other.md": ""})
    (edge,) = g2.outgoing("x.md")
    assert edge.target is None and edge.resolution.ambiguous
    assert edge.resolution.candidates == ["a/Other.md", "b/Other.md"]
    kinds = {f.kind for f in g2.findings()}
    assert "ambiguous-link" in kinds and "broken-link" not in kinds


def test_markdown_links_relative_and_vault_relative():
    g = graph(
        {
            "outlines/o.md": "[a](../notes/T/x%20y.md) [b](notes/T/x%20y.md) [c](../nope.md)",
            "notes/T/x y.md": "",
        }
    )
    targets = [e.target for e in g.outgoing("outlines/o.md")]
    assert targets == ["notes/T/x y.md", "notes/T/x y.md", None]


def test_orphans_and_backlinks():
    g = graph({"a.md": "[[b]]", "b.md": "", "lonely.md": "[[#self]]"})
    assert g.orphans() == ["lonely.md"]
    assert [e.source for e in g.backlinks["b.md"]] == ["a.md"]


def test_graph_json_href_is_the_target_as_written_like_zk(make_vault, cli):
    root = make_vault(
        {
            "a.md": "---\nrelated: ['[[Attention|front alias]]']\n---\n"
            "[[Self-Attention]] [[Attention|注意力]] [[Attention#Heads|heads]] [the **b** note](b.md)\n",
            "Self-Attention.md": "x",
            "Attention.md": "y",
            "b.md": "[[a]]",
        }
    )
    data = json.loads(cli("--vault", root, "graph").stdout)
    links = [(li["href"], li["title"], li["type"]) for li in data["links"] if li["sourcePath"] == "a.md"]
    assert links == [
        ("Self-Attention", "Self-Attention", "wiki-link"),
        ("Attention", "注意力", "wiki-link"),
        ("Attention#Heads", "heads", "wiki-link"),
        ("b.md", "the b note", "markdown"),  # zk: a Markdown link's title is its text
        ("Attention", "Attention", "front-matter"),
    ]
    assert {li["targetPath"] for li in data["links"] if li["sourcePath"] == "a.md"} == {
        "Self-Attention.md",
        "Attention.md",
        "b.md",
    }


def test_find_note_lives_in_the_core(tmp_path):
    from attnkb.errors import AmbiguousNote, NoteNotFound
    from attnkb.links import Resolver, find_note

    notes = [parse_text("x/Deep.md", "# Deep learning\n"), parse_text("y/Deep.md", "# Other\n")]
    notes.append(parse_text("solo.md", "---\naliases: [Alone]\n---\n"))
    resolver = Resolver(notes)
    root = tmp_path / "v"
    (root / "x").mkdir(parents=True)
    assert find_note(resolver, root, "x/Deep.md") == "x/Deep.md"
    assert find_note(resolver, root, "Deep.md", cwd=root / "x") == "x/Deep.md"  # from where you stand
    assert find_note(resolver, root, "Alone") == "solo.md"
    assert find_note(resolver, root, "Deep learning") == "x/Deep.md"
    with pytest.raises(AmbiguousNote, match=r"x/Deep\.md, y/Deep\.md"):
        find_note(resolver, root, "Deep")
    with pytest.raises(NoteNotFound):
        find_note(resolver, root, "../outside.md")
