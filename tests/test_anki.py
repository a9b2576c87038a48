"""Anki packages built here in both layouts (legacy schema 11 with a JSON media map; schema 18
``collection.anki21b`` with zstd and protobuf), with known review histories."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CRT = datetime(2024, 1, 1, tzinfo=UTC)
DAY_MS = 86_400_000
BASIC, CLOZE = 1111, 2222
DECK, OTHER = 10, 20

TABLES = """
CREATE TABLE col (id integer primary key, crt integer not null, mod integer not null, scm integer not null,
  ver integer not null, dty integer not null, usn integer not null, ls integer not null, conf text not null,
  models text not null, decks text not null, dconf text not null, tags text not null);
CREATE TABLE notes (id integer primary key, guid text not null, mid integer not null, mod integer not null,
  usn integer not null, tags text not null, flds text not null, sfld integer not null, csum integer not null,
  flags integer not null, data text not null);
CREATE TABLE cards (id integer primary key, nid integer not null, did integer not null, ord integer not null,
  mod integer not null, usn integer not null, type integer not null, queue integer not null, due integer not null,
  ivl integer not null, factor integer not null, reps integer not null, lapses integer not null,
  left integer not null, odue integer not null, odid integer not null, flags integer not null, data text not null);
CREATE TABLE revlog (id integer primary key, cid integer not null, usn integer not null, ease integer not null,
  ivl integer not null, lastIvl integer not null, factor integer not null, time integer not null,
  type integer not null);
"""
SCHEMA18 = """
CREATE TABLE notetypes (id integer not null primary key, name text not null, mtime_secs integer not null,
  usn integer not null, config blob not null);
CREATE TABLE fields (ntid integer not null, ord integer not null, name text not null, config blob not null,
  primary key (ntid, ord)) without rowid;
CREATE TABLE templates (ntid integer not null, ord integer not null, name text not null,
  mtime_secs integer not null, usn integer not null, config blob not null, primary key (ntid, ord)) without rowid;
CREATE TABLE decks (id integer primary key not null, name text not null, mtime_secs integer not null,
  usn integer not null, common blob not null, kind blob not null);
"""
BASIC_TEMPLATES = [
    ("Card 1", "{{Front}}", "{{FrontSide}}<hr id=answer>{{Back}}"),
    ("Card 2", "{{Back}}", "{{FrontSide}}\n\n<hr id=answer>\n\n{{Front}}{{#Extra}}<br>{{Extra}}{{/Extra}}"),
]
CLOZE_TEMPLATES = [("Cloze", "{{cloze:Text}}", "{{cloze:Text}}<br>{{Extra}}")]
DECKS = {DECK: "ML::Attention", OTHER: "Other deck"}

# (note id, guid, model, fields, tags)
NOTES = [
    (
        1,
        "guid-one",
        BASIC,
        ["What is <b>attention</b>?", 'A weighted sum \\(\\sum_i a_i v_i\\)<br><img src="fig.png">', ""],
        " transformer ",
    ),
    (2, "guid-two", CLOZE, ["The {{c1::query}} meets the {{c2::key::hint}}.", "extra"], ""),
    (
        3,
        "guid-three",
        BASIC,
        [
            "Hostile <script>alert(1)</script>question",
            'x::y ==z== <div>?</div># not a heading [[link]] $5 <img src="../evil.png"><style>p{}</style>',
            "",
        ],
        "",
    ),
    (4, "guid-four", BASIC, ["Other deck question", "answer four", ""], ""),
]


def rev(card, day, ease, type_=1, factor=2500, time_ms=4000, minutes=0):
    return (
        CRT.timestamp() * 1000 + day * DAY_MS + 12 * 3_600_000 + minutes * 60_000,
        card,
        ease,
        type_,
        factor,
        time_ms,
    )


# card 101 (note 1, card 1): learn, reviews, a lapse and its relearning step
HISTORY_101 = [
    rev(101, 0, 3, 0),
    rev(101, 3, 3),
    rev(101, 10, 1),
    rev(101, 10, 3, 2, minutes=10),
    rev(101, 15, 3),  # 4 days 23:50 after the relearning step: 5 study days, as Anki counts
]
REVLOG = [
    *HISTORY_101,
    rev(102, 1, 3, 0),  # card 102 (note 1, card 2): then a Forget wipes it, one review after
    rev(102, 4, 4),
    rev(102, 5, 0, 4, factor=0),  # Forget
    rev(102, 6, 2, 0),
    rev(102, 7, 0, 4, factor=2500),  # set due date: manual, skipped
    rev(102, 8, 3, 3, factor=0),  # filtered deck without rescheduling: skipped
    rev(201, 2, 3, 0),  # cloze 1
]
# (card id, note id, deck, ord, type, queue, due, ivl, factor, data)
CARDS = [
    (101, 1, DECK, 0, 2, 2, 40, 20, 2500, ""),
    (102, 1, DECK, 1, 2, 2, 30, 4, 2300, ""),
    (201, 2, DECK, 0, 2, 2, 25, 3, 2500, '{"s": 3.5, "d": 5.5}'),
    (202, 2, DECK, 1, 0, 0, 7, 0, 0, ""),
    (301, 3, DECK, 0, 2, 2, 50, 10, 2100, ""),  # review card, no history: memory from SM-2
    (401, 4, OTHER, 0, 0, 0, 1, 0, 0, ""),
]
MEDIA = {"fig.png": b"\x89PNG fake", "../evil.png": b"evil"}


def _collection(path: Path, schema18: bool) -> None:
    db = sqlite3.connect(path)
    db.executescript(TABLES + (SCHEMA18 if schema18 else ""))
    models = {
        str(BASIC): {
            "name": "Basic (and reversed)",
            "type": 0,
            "flds": [{"name": n, "ord": i} for i, n in enumerate(["Front", "Back", "Extra"])],
            "tmpls": [
                {"name": n, "ord": i, "qfmt": q, "afmt": a} for i, (n, q, a) in enumerate(BASIC_TEMPLATES)
            ],
        },
        str(CLOZE): {
            "name": "Cloze",
            "type": 1,
            "flds": [{"name": "Text", "ord": 0}, {"name": "Extra", "ord": 1}],
            "tmpls": [
                {"name": n, "ord": i, "qfmt": q, "afmt": a} for i, (n, q, a) in enumerate(CLOZE_TEMPLATES)
            ],
        },
    }
    decks = {str(k): {"name": v} for k, v in DECKS.items()}
    db.execute(
        "INSERT INTO col VALUES (1, ?, 0, 0, ?, 0, 0, 0, '{}', ?, ?, '{}', '{}')",
        (
            int(CRT.timestamp()),
            18 if schema18 else 11,
            "" if schema18 else json.dumps(models),
            "" if schema18 else json.dumps(decks),
        ),
    )
    if schema18:
        for mid, m in models.items():
            db.execute(
                "INSERT INTO notetypes VALUES (?, ?, 0, 0, ?)", (int(mid), m["name"], bytes([8, m["type"]]))
            )
            for f in m["flds"]:
                db.execute("INSERT INTO fields VALUES (?, ?, ?, x'')", (int(mid), f["ord"], f["name"]))
            for t in m["tmpls"]:
                config = _pb(1, t["qfmt"].encode()) + _pb(2, t["afmt"].encode())
                db.execute(
                    "INSERT INTO templates VALUES (?, ?, ?, 0, 0, ?)", (int(mid), t["ord"], t["name"], config)
                )
        for did, name in DECKS.items():
            db.execute("INSERT INTO decks VALUES (?, ?, 0, 0, x'', x'')", (did, name.replace("::", "\x1f")))
    for nid, guid, mid, fields, tags in NOTES:
        db.execute(
            "INSERT INTO notes VALUES (?, ?, ?, 0, 0, ?, ?, '', 0, 0, '')",
            (nid, guid, mid, tags, "\x1f".join(fields)),
        )
    for cid, nid, did, ord_, type_, queue, due, ivl, factor, data in CARDS:
        db.execute(
            "INSERT INTO cards VALUES (?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, 0, ?)",
            (cid, nid, did, ord_, type_, queue, due, ivl, factor, data),
        )
    for ms, cid, ease, type_, factor, time_ms in REVLOG:
        db.execute(
            "INSERT INTO revlog VALUES (?, ?, 0, ?, 0, 0, ?, ?, ?)",
            (int(ms), cid, ease, factor, time_ms, type_),
        )
    db.commit()
    db.close()


def _varint(n: int) -> bytes:
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def _pb(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def build_package(path: Path, tmp: Path, layout: str) -> Path:
    """layout: "legacy" (collection.anki2, JSON media) or "latest" (collection.anki21b, zstd)."""
    db = tmp / f"{layout}.sqlite"
    db.unlink(missing_ok=True)
    _collection(db, schema18=layout == "latest")
    names = list(MEDIA)
    with zipfile.ZipFile(path, "w") as zf:
        if layout == "latest":
            zstd = zstandard.ZstdCompressor()
            zf.writestr("meta", bytes([8, 3]))
            zf.writestr("collection.anki21b", zstd.compress(db.read_bytes()))
            zf.writestr("collection.anki2", b"an old client's stub")
            entries = b"".join(
                _pb(1, _pb(1, n.encode()) + bytes([16]) + _varint(len(MEDIA[n]))) for n in names
            )
            zf.writestr("media", zstd.compress(entries))
            for i, n in enumerate(names):
                zf.writestr(str(i), zstd.compress(MEDIA[n]))
        else:
            zf.writestr("collection.anki2", db.read_bytes())
            zf.writestr("media", json.dumps({str(i): n for i, n in enumerate(names)}))
            for i, n in enumerate(names):
                zf.writestr(str(i), MEDIA[n])
    return path


def _deck(root, now="2024-02-01T12:00:00+00:00"):
    from attnkb.clock import parse_instant
    from attnkb.srs.config import load
    from attnkb.srs.deck import Deck
    from attnkb.vault import Index

    return Deck(root, Index(root).notes(), load(root / ".attnkb"), parse_instant(now))


@pytest.fixture(params=["legacy", "latest"])
def package(request, tmp_path):
    return build_package(tmp_path / f"deck-{request.param}.apkg", tmp_path, request.param)


def test_import_writes_notes_media_and_history(package, make_vault, cli):
    root = make_vault({"mine.md": "# Mine\n\nQ::A\n"})
    mine = (root / "mine.md").read_bytes()
    result = cli("--vault", root, "import", "anki", package, "--into", root / "from-anki", "--deck", "ML")
    assert result.exit_code == 0, result.output
    assert "Took 5 cards from 3 Anki notes, 7 reviews." in result.output
    assert "unsafe media name '../evil.png'" in result.output
    assert "Wrote 3 new notes into from-anki/." in result.output
    notes = {p.name: p.read_text(encoding="utf-8") for p in (root / "from-anki").glob("*.md")}
    assert set(notes) == {"What is attention.md", "The query meets the key.md", "Hostile question.md"}
    assert (root / "from-anki" / "fig.png").read_bytes() == MEDIA["fig.png"]
    assert not (root / "evil.png").exists() and not (root / "from-anki" / "evil.png").exists()
    assert (root / "mine.md").read_bytes() == mine

    first = notes["What is attention.md"]
    assert 'anki_guid: "guid-one"' in first and '- "ML/Attention"' in first and '- "transformer"' in first
    assert "### Q: What is **attention**?" in first
    assert "A weighted sum $\\sum_i a_i v_i$\n![](<fig.png>)" in first
    assert "### Q: A weighted sum" in first  # the reversed card asks the back
    cloze = notes["The query meets the key.md"]
    assert (
        "### Q: The \\[...\\] meets the key." in cloze and "### Q: The query meets the \\[hint\\]." in cloze
    )
    hostile = notes["Hostile question.md"]
    assert "alert" not in hostile and "<script" not in hostile and "<style" not in hostile
    assert "x\\:\\:y \\=\\=z\\=\\=" in hostile and "\\# not a heading \\[\\[link\\]\\] \\$5" in hostile

    deck = _deck(root)
    by_q = {i.card.question: i for i in deck.items.values() if i.card.path.startswith("from-anki/")}
    assert len(by_q) == 5  # every card, and no card hidden in imported answers
    one = by_q["What is attention?"]
    assert [e.rating for e in one.memory.history if e.is_review] == [3, 3, 1, 3, 3]
    assert one.due.date() == date(2024, 2, 10)  # Anki's due day 40 from the collection's creation
    wiped = next(i for q, i in by_q.items() if q.startswith("A weighted sum"))
    assert [e.rating for e in wiped.memory.history if e.is_review] == [2]  # Forget dropped the rest
    c1 = by_q["The [...] meets the key."]
    assert (c1.memory.stability, c1.memory.difficulty) == (3.5, 5.5)  # Anki's own FSRS memory
    assert by_q["The query meets the [hint]."].is_new
    assert by_q["Hostile question"].memory.stability > 1  # from SM-2 ease and interval

    again = cli("--vault", root, "import", "anki", package, "--into", root / "from-anki", "--deck", "ML")
    assert (
        again.exit_code == 0 and "Wrote 0 log entries" in again.output and "Wrote 0 new notes" in again.output
    )
    assert len(list((root / "from-anki").glob("*.md"))) == 3


def test_memory_after_import_matches_fsrs_rs_on_the_same_history(package, make_vault, cli):
    import fsrs_rs_python as fr

    root = make_vault({".attnkb/config.toml": ""})
    assert cli("--vault", root, "import", "anki", package).exit_code == 0
    item = next(i for i in _deck(root).items.values() if i.card.question == "What is attention?")
    days = [int((ms - CRT.timestamp() * 1000) // DAY_MS) for ms, *_ in HISTORY_101]
    reviews = [
        fr.FSRSReview(ease, d - p)
        for (_, _, ease, *_), d, p in zip(HISTORY_101, days, [days[0], *days[:-1]], strict=True)
    ]
    expected = fr.FSRS(fr.DEFAULT_PARAMETERS).memory_state(fr.FSRSItem(reviews), None)
    assert item.memory.stability == pytest.approx(expected.stability, rel=1e-5)
    assert item.memory.difficulty == pytest.approx(expected.difficulty, rel=1e-5)


def test_deck_filter_and_unknown_deck(package, make_vault, cli):
    root = make_vault({".attnkb/config.toml": ""})
    only = cli("--vault", root, "import", "anki", package, "--deck", "other deck", "--dry-run")
    assert only.exit_code == 0 and "Would take 1 card from 1 Anki notes" in only.output
    assert not (root / "anki").exists()
    missing = cli("--vault", root, "import", "anki", package, "--deck", "Nope")
    assert (
        missing.exit_code == 2 and "no deck named 'Nope'" in missing.output and package.name in missing.output
    )


def test_into_outside_the_vault_is_refused(package, make_vault, cli, tmp_path):
    root = make_vault({".attnkb/config.toml": ""})
    result = cli("--vault", root, "import", "anki", package, "--into", tmp_path / "elsewhere")
    assert result.exit_code == 2 and "inside the vault" in result.output
    for hidden in ("../elsewhere", ".attnkb"):
        refused = cli("--vault", root, "import", "anki", package, "--into", hidden)
        assert refused.exit_code == 2 and "inside the vault" in refused.output, hidden


def test_into_is_a_folder_of_the_vault_wherever_the_command_runs(
    package, make_vault, cli, tmp_path, monkeypatch
):
    root = make_vault({".attnkb/config.toml": ""})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = cli("--vault", root, "import", "anki", package, "--into", "anki/ml")
    assert result.exit_code == 0, result.output
    assert "no notes in" not in result.output  # an empty vault is where an import begins
    assert "Wrote 4 new notes into anki/ml/." in result.output
    assert len(list((root / "anki" / "ml").glob("*.md"))) == 4 and not (elsewhere / "anki").exists()


def _hostile(tmp_path: Path, name: str, members: dict[str, bytes]) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path


def test_hostile_packages_get_one_line_errors(make_vault, cli, tmp_path, monkeypatch):
    from attnkb.interop import anki

    root = make_vault({".attnkb/config.toml": ""})
    not_sqlite = _hostile(tmp_path, "a.apkg", {"collection.anki2": b"hello, not a database" * 100})
    plain_db = tmp_path / "plain.sqlite"
    sqlite3.connect(plain_db).execute("CREATE TABLE t (x)").connection.commit()
    wrong_db = _hostile(tmp_path, "b.apkg", {"collection.anki21": plain_db.read_bytes()})
    bad_zstd = _hostile(tmp_path, "c.apkg", {"collection.anki21b": b"\x28\xb5\x2f\xfd garbage"})
    empty = _hostile(tmp_path, "d.apkg", {"readme.txt": b"hi"})
    corrupt = tmp_path / "e.apkg"
    corrupt.write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    monkeypatch.setattr(anki, "MAX_COLLECTION_BYTES", 1 << 20)
    bomb = _hostile(
        tmp_path, "f.apkg", {"collection.anki21b": zstandard.ZstdCompressor().compress(b"\0" * (3 << 20))}
    )
    zip_bomb = _hostile(tmp_path, "g.apkg", {"collection.anki2": b"\0" * (3 << 20)})
    cases = {
        not_sqlite: "not an Anki collection",
        wrong_db: "no table cards, col, notes, revlog",
        bad_zstd: "not valid zstd",
        empty: "no collection inside",
        corrupt: "not a zip file",
        bomb: "decompresses to more than 1 MB",
        zip_bomb: "larger than 1 MB",
        tmp_path / "missing.apkg": "no such file",
    }
    for path, message in cases.items():
        result = cli("--vault", root, "import", "anki", path)
        assert result.exit_code == 2, (path, result.output)
        assert message in result.output and path.name in result.output and "Traceback" not in result.output


def test_media_map_and_collection_may_lie(make_vault, cli, tmp_path):
    root = make_vault({".attnkb/config.toml": ""})
    src = build_package(tmp_path / "ok.apkg", tmp_path, "legacy")
    with zipfile.ZipFile(src) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["media"] = b"[1, 2]"
    result = cli("--vault", root, "import", "anki", _hostile(tmp_path, "m.apkg", members))
    assert result.exit_code == 2 and "media map is not a JSON object" in result.output


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_html_conversion_never_makes_cards_or_markup(html):
    from attnkb.interop.html import to_markdown
    from attnkb.note import parse_text

    md = to_markdown(html)
    assert "<script" not in md.lower() and not any(ord(c) < 32 and c not in "\n" for c in md)
    assert parse_text("x.md", "# T\n\n### Q: q\n\n" + md + "\n").cards[0].kind == "heading"
    assert len([c for c in parse_text("x.md", "# T\n\n### Q: q\n\n" + md + "\n").cards]) == 1


def test_review_history_rules():
    from attnkb.interop.anki import Revlog, usable_history

    rows = [Revlog(int(ms), c, e, f, t, ty) for ms, c, e, ty, f, t in REVLOG if c == 102]
    assert [r.ease for r in usable_history(rows)] == [2]
    assert (datetime.fromtimestamp(rows[0].id / 1000, UTC) - CRT) == timedelta(days=1, hours=12)


EXPORT_VAULT = {
    "attn.md": "---\ntags: [ml]\n---\n# Attention\n\n### Q: What scales the scores?\n\n$\\sqrt{d_k}$, see ![](fig.png)\n\n"
    "Softmax turns scores::into weights\n",
    "fig.png": b"\x89PNG image",
    "other.md": "# Other\n\nNo questions, so the note is one card.\n",
}


def test_export_then_import_keeps_cards_and_questions(make_vault, cli, tmp_path):
    root = make_vault(EXPORT_VAULT)
    out = tmp_path / "out.apkg"
    result = cli("--vault", root, "export", "anki", out, "--deck", "My deck")
    assert result.exit_code == 0, result.output
    assert "Wrote 3 cards from 2 notes" in result.output
    from attnkb.interop.anki import read_media, read_package
    from attnkb.interop.anki_export import MODEL_ID, deck_id

    col = read_package(out)
    assert set(col.notetypes) == {MODEL_ID} and deck_id("My deck") in col.decks
    fields = {n.fields[0]: n for n in col.notes.values()}
    assert "\\(\\sqrt{d_k}\\)" in fields["<p>What scales the scores?</p>\n"].fields[1]
    assert 'src="fig.png"' in fields["<p>What scales the scores?</p>\n"].fields[1]
    assert read_media(out, col, "fig.png") == EXPORT_VAULT["fig.png"]
    assert (
        "attnkb::attn.md" in fields["<p>Softmax turns scores</p>\n"].tags
        and "ml" in fields["<p>Softmax turns scores</p>\n"].tags
    )

    back = make_vault({".attnkb/config.toml": ""}, name="back")
    imported = cli("--vault", back, "import", "anki", out)
    assert imported.exit_code == 0, imported.output
    questions = sorted(i.card.question for i in _deck(back).items.values())
    assert questions == ["Other", "Softmax turns scores", "What scales the scores?"]
    text = (back / "anki" / "What scales the scores.md").read_text(encoding="utf-8")
    assert "$\\sqrt{d_k}$" in text and (back / "anki" / "fig.png").exists()


def test_reexport_after_editing_an_answer_keeps_the_guid(make_vault, cli, tmp_path):
    root = make_vault(EXPORT_VAULT)
    from attnkb.interop.anki import read_package

    cli("--vault", root, "export", "anki", tmp_path / "a.apkg")
    (root / "attn.md").write_text(EXPORT_VAULT["attn.md"].replace("see", "as in"), encoding="utf-8")
    (root / "other.md").write_text("# Other\n\nA new question::and answer\n", encoding="utf-8")
    cli("--vault", root, "export", "anki", tmp_path / "b.apkg")
    a = {n.guid: n.fields[1] for n in read_package(tmp_path / "a.apkg").notes.values()}
    b = {n.guid: n.fields[1] for n in read_package(tmp_path / "b.apkg").notes.values()}
    kept = set(a) & set(b)
    assert len(kept) == 2 and any("as in" in b[g] and "see" in a[g] for g in kept)


def test_export_filters_by_tag_and_refuses_bad_targets(make_vault, cli, tmp_path):
    root = make_vault(EXPORT_VAULT)
    only = cli("--vault", root, "export", "anki", tmp_path / "t.apkg", "--tag", "ml")
    assert only.exit_code == 0 and "Wrote 2 cards from 1 note" in only.output
    assert cli("--vault", root, "export", "anki", tmp_path / "x.txt").exit_code == 2
    assert cli("--vault", root, "export", "anki", tmp_path / "no" / "x.apkg").exit_code == 2


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["collection.anki2", "collection.anki21", "collection.anki21b", "media", "meta", "0"]
        ),
        st.binary(max_size=200),
        max_size=4,
    )
)
def test_any_package_bytes_give_a_package_error_or_a_collection(members):
    import tempfile

    from attnkb.interop.anki import PackageError, read_package

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.apkg"
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        try:
            read_package(path)
        except PackageError as exc:
            assert exc.path == str(path)


def test_protobuf_reader_rejects_truncation():
    from attnkb.interop.anki import protobuf_fields

    assert protobuf_fields(_pb(1, b"abc") + bytes([16, 5])) == [(1, b"abc"), (2, 5)]
    for bad in (b"\x0a\x05ab", b"\x08", b"\x0b"):
        with pytest.raises(ValueError):
            protobuf_fields(bad)


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE cards SET due = 'soon'",
        "UPDATE col SET crt = 99999999999999",
        "UPDATE col SET models = '[1]'",
        "UPDATE col SET decks = '{\"x\": 5}'",
    ],
)
def test_damaged_collections_are_one_line_errors(damage, make_vault, cli, tmp_path):
    db = tmp_path / "c.sqlite"
    _collection(db, schema18=False)
    con = sqlite3.connect(db)
    con.execute(damage)
    con.commit()
    con.close()
    package = _hostile(tmp_path, "damaged.apkg", {"collection.anki2": db.read_bytes()})
    result = cli("--vault", make_vault({".attnkb/config.toml": ""}), "import", "anki", package)
    assert (
        result.exit_code == 2
        and "damaged.apkg" in result.output
        and "damaged Anki collection" in result.output
    )


def test_colpkg_reads_like_apkg(make_vault, cli, tmp_path):
    colpkg = build_package(tmp_path / "whole.colpkg", tmp_path, "latest")
    result = cli("--vault", make_vault({".attnkb/config.toml": ""}), "import", "anki", colpkg, "--dry-run")
    assert result.exit_code == 0 and "Would take 6 cards from 4 Anki notes, 7 reviews." in result.output
