"""The bundled starter vault is what a new user reviews first: it must be whole and correct."""

import re
import shutil
from pathlib import Path

import pytest

from attnkb.graph import Graph
from attnkb.note import parse_note

NOTES = Path(__file__).resolve().parents[1] / "notes"
CONCEPT_KEYS = {"title", "type", "tags", "date", "status", "related"}
REVIEW_KEYS = {"created", "last_reviewed", "next_review", "review_count", "difficulty", "mastery_level"}
TOPICS = [  # the list, each by a word its note's title or aliases must hold
    "Attention Overview",
    "Bahdanau",
    "Dot-Product",
    "Scaled Dot-Product",
    "Bilinear",
    "Luong vs Bahdanau",
    "Hard Attention",
    "Local Attention",
    "Self-Attention",
    "Cross",
    "Causal",
    "Multi-Head",
    "Grouped-Query",
    "Seq2Seq",
    "Transformer Encoder",
    "Transformer Decoder",
    "Sparse",
    "Longformer",
    "Linformer",
    "Linear Attention",
    "FlashAttention",
    "Complexity",
    "Visualisation",
]


@pytest.fixture(scope="module")
def notes():
    return [parse_note(p.name, p.read_bytes()) for p in sorted(NOTES.glob("*.md"))]


def test_bundled_vault_checks_clean_and_its_examples_pass(cli, tmp_path):
    vault = tmp_path / "notes"
    shutil.copytree(NOTES, vault, ignore=shutil.ignore_patterns(".attnkb"))
    r = cli("--vault", vault, "check")
    assert r.exit_code == 0, r.output
    assert "0 errors, 0 warnings" in r.stdout
    r = cli("--vault", vault, "run-example", "--all", "--quiet")
    assert r.exit_code == 0, r.output
    assert "0 failed, 0 invalid" in r.stdout


def test_every_note_is_complete(notes):
    assert len(notes) >= 24
    for n in notes:
        assert n.problems == [], n.path
        missing = (CONCEPT_KEYS | REVIEW_KEYS) - set(n.meta)
        assert not missing, (n.path, missing)
        assert len(n.cards) >= 3, n.path
        assert n.examples, n.path
        assert re.search(r"[\u4e00-\u9fff]", n.title) and re.search(r"[A-Za-z]", n.title), n.title
        text = (NOTES / n.path).read_text(encoding="utf-8")
        assert "$" in text, f"{n.path} has no formula"


def test_every_topic_has_a_note(notes):
    names = [" ".join([n.title, *n.aliases]) for n in notes]
    for topic in TOPICS:
        assert any(topic.lower() in name.lower() for name in names), topic


def test_no_broken_links_and_no_orphans(notes):
    graph = Graph(notes)
    assert list(graph.findings()) == []
    assert all(graph.backlinks.get(n.path) for n in notes)  # every note is linked to


def test_the_scaled_dot_note_has_the_translation_and_variance_examples(notes):
    note = next(n for n in notes if n.title.startswith("缩放点积注意力"))
    blocks = [e.text for e in note.examples]
    assert any("labels: {queries: [I, love, China]" in b for b in blocks)
    assert sum("score_var" in b for b in blocks) >= 2
