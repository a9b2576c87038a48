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
