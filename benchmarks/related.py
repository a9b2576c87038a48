"""Quality of ``attnkb related`` on the starter vault: recall@5 of the notes each note links to.

    python benchmarks/related.py [VAULT]   (default: the bundled starter vault)

For each note with links (body and ``related:``), recall@5 = |linked ∩ top 5| / min(|linked|, 5),
where the top 5 come from text alone: links are no signal (the link graph is never consulted).
Printed for our ranking, without tags, by cosine alone (no tags, no naming of the other note),
for a plain TF-IDF over character bigrams (the baseline), and for all of them with the text of
links removed from the notes too: a link's text names its target, so naming is then only what
the notes say outside links.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

from attnkb import frontmatter, related
from attnkb.graph import Graph
from attnkb.related_section import SectionConfig, without_block
from attnkb.vault import Index, read_text

STARTER = Path(related.__file__).parent / "data" / "starter"


class PlainTfidf:
    """The baseline: raw counts of CJK character bigrams times log(N/df), cosine."""

    def __init__(self, docs: list[related.Doc]):
        counts = {}
        for d in docs:
            runs = [r for r in related._RUN.findall(d.text) if not r[0].isascii()]
            counts[d.path] = Counter(r[i : i + 2] for r in runs for i in range(len(r) - 1))
        df: Counter = Counter()
        for c in counts.values():
            df.update(c.keys())
        self.vectors = {}
        for path, c in counts.items():
            vec = {t: tf * math.log(len(docs) / df[t]) for t, tf in c.items()}
            size = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            self.vectors[path] = {t: v / size for t, v in vec.items()}

    def similar(self, path: str, limit: int) -> list[tuple[str, float]]:
        mine = self.vectors[path]
        scored = [
            (other, sum(w * vec.get(t, 0.0) for t, w in mine.items()))
            for other, vec in self.vectors.items()
            if other != path
        ]
        return sorted(scored, key=lambda x: (-x[1], x[0]))[:limit]


def recall_at_5(graph: Graph, model) -> tuple[float, int]:
    total, counted = 0.0, 0
    for path in graph.notes:
        linked = {e.target for e in graph.outgoing(path) if e.target and e.target != path}
        if not linked:
            continue
        top = {p for p, _ in model.similar(path, 5)}
        total += len(linked & top) / min(len(linked), 5)
        counted += 1
    return total / counted, counted


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else STARTER
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "vault"
        shutil.copytree(source, root, ignore=shutil.ignore_patterns(".attnkb"))
        notes = Index(root).notes()
        graph = Graph(notes)
        config = SectionConfig()
        texts = {
            n.path: frontmatter.split(without_block(read_text(root, n.path), config)).body for n in notes
        }
        for label, keep in (("text as read", True), ("link text removed as well", False)):
            docs = [
                related.Doc(n.path, n.title, n.tags, related.readable(texts[n.path], keep), n.aliases)
                for n in notes
            ]
            ours, counted = recall_at_5(graph, related.Model(docs))
            text_only, _ = recall_at_5(graph, related.Model(docs, tag_weight=0.0))
            cosine, _ = recall_at_5(graph, related.Model(docs, tag_weight=0.0, mention_weight=0.0))
            base, _ = recall_at_5(graph, PlainTfidf(docs))
            print(
                f"{label}: recall@5 over {counted} notes: attnkb related {ours:.3f},"
                f" without tags {text_only:.3f}, cosine alone {cosine:.3f}, plain TF-IDF over bigrams {base:.3f}"
            )


if __name__ == "__main__":
    main()
