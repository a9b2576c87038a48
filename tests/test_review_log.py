"""The review log as data that must not be lost or forged: ids, undo by id, encoded names,
one file per device, git merges, bad lines, failed writes."""

import errno
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnkb.errors import AttnkbError
from attnkb.srs import log as logmod
from attnkb.srs.config import ReviewConfig
from attnkb.srs.deck import Deck
from attnkb.srs.history import effective_history
from attnkb.srs.log import Entry, ReviewLog, decode, device_name, encode, new_id, parse_line
from attnkb.vault import Index

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
NOTE = "# N\n\n### Q: one?\nA1\n\n### Q: two?\nA2\n"


def deck(root, now=NOW, device="a"):
    d = Deck(root, Index(root).notes(), ReviewConfig(), now)
    d.log = ReviewLog(root / ".attnkb", device=device)
    return d


names = st.one_of(
    st.text(min_size=1),
    st.binary(min_size=1).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.sampled_from(["c\nd.md", "a\tb.md", "x\ry.md", "50%.md", "p\u2028q.md", "caf\udce9.md"]),
)


@given(name=names)
def test_any_name_round_trips_and_never_breaks_a_line(name):
    encoded = encode(name)
    assert not any(c in encoded for c in "\t\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
    assert decode(encoded) == name
    entry = Entry(NOW, name, 3, 5, name, id=new_id(), fingerprint="f")
    line = entry.line()
    assert line.count("\n") == 1 and line.endswith("\n")
    assert (
        parse_line(line.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")[:-1]) == entry
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names)
def test_entries_with_any_name_survive_the_file(tmp_path_factory, name):
    log = ReviewLog(tmp_path_factory.mktemp("v") / ".attnkb", device="d")
    entries = [Entry(NOW, "c1", 3, 0, name, id=new_id()), Entry(NOW + timedelta(1), name, 1, 7, "x.md")]
    with log.locked():
        for e in entries:
            log.append(e)
    assert log.entries() == entries and log.warnings == []


@settings(max_examples=50, deadline=None)
@given(line=st.text() | st.binary().map(lambda b: b.decode("utf-8", "replace")))
def test_parse_line_either_reads_or_says_why(line):
    try:
        entry = parse_line(line)
    except (ValueError, OverflowError):
        return
    assert parse_line(entry.line()[:-1]) == entry


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(
        st.binary(max_size=80)
        | st.sampled_from(
            [Entry(NOW, "c", 3, 1, "n.md", id="abc").line().encode(), b"#comment", b"\xff\xfe"]
        ),
        max_size=8,
    )
)
def test_any_bytes_in_a_log_file_give_entries_or_warnings_never_an_error(tmp_path_factory, lines):
    log = ReviewLog(tmp_path_factory.mktemp("v") / ".attnkb", device="d")
    log.path.parent.mkdir(parents=True)
    log.path.write_bytes(b"\n".join(lines))
    entries = log.entries()
    assert all(isinstance(e, Entry) for e in entries)
    assert all(w.startswith(f"{log.path}:") for w in log.warnings)


def test_bad_lines_are_skipped_with_their_file_and_line_and_nothing_else_stops(make_vault, cli):
    root = make_vault({"n.md": NOTE})
    log = ReviewLog(root / ".attnkb", device="a")
    good = Entry(NOW - timedelta(days=3), "x", 3, 0, "n.md", id="good1")
    bad = [
        b"id1\t2026-11-20T10:00:00\tc\t3\t0\tn.md\t-\t-",  # no UTC offset
        b"id2\t2026-11-20T10:00:00+00:00\tc\t3\t0\tn\xff.md\t-\t-",  # not UTF-8
        b"id3\t9999-12-31T23:59:59+00:00\tc\t3\t0\tn.md\t-\t-",  # year 9999
        b"garbage",
        b"id5\t2026-11-20T10:00:00+99:00\tc\t3\t0\tn.md\t-\t-",  # impossible offset
        b"id6\t2026-11-20T10:00:00+00:00\tc\t7\t0\tn.md\t-\t-",  # rating out of range
    ]
    log.path.parent.mkdir(parents=True)
    log.path.write_bytes(logmod.HEADER.encode() + good.line().encode() + b"\n".join(bad) + b"\n")
    assert log.entries() == [good]
    assert [w.split(": ")[0] for w in log.warnings] == [f"{log.path}:{n}" for n in range(3, 9)]
    env = {"ATTNKB_NOW": "2026-11-21T10:00:00+00:00", "ATTNKB_DEVICE": "a"}
    for args in (("due", "--json"), ("stats", "--json")):
        r = cli("--vault", root, *args, env=env)
        assert r.exit_code == 0 and f"{log.path}:5: not a review entry" in r.stderr
        json.loads(r.stdout)
    r = cli("--vault", root, "review", input="\n3\nq\n", env=env)
    assert r.exit_code == 0 and "Reviewed 1" in r.stdout and "not valid UTF-8" in r.stderr


def test_a_failed_or_short_write_fails_the_grade_before_the_note_is_touched(make_vault, monkeypatch):
    root = make_vault({"n.md": NOTE})
    d = deck(root)
    item = d.queue(None, None, None)[0]
    d.grade(item, 3, NOW, 0)
    before_log, before_note = d.log.path.read_bytes(), (root / "n.md").read_bytes()
    real_write = os.write
    calls = []

    def short_then_full_disk(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:10]))  # a short write: only part of the line
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(logmod.os, "write", short_then_full_disk)
    with pytest.raises(AttnkbError, match=r"cannot write the review log .*grade not saved"):
        d.grade(d.queue(None, None, None)[0], 4, NOW + timedelta(minutes=1), 0)
    assert d.log.path.read_bytes() == before_log and (root / "n.md").read_bytes() == before_note
    monkeypatch.setattr(logmod.os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    d.grade(d.queue(None, None, None)[0], 4, NOW + timedelta(minutes=2), 0)  # short writes continue
    assert len(d.log.entries()) == 2 and d.log.warnings == []


def test_a_file_size_limit_fails_the_grade_and_keeps_the_log_whole(make_vault):
    root = make_vault({"n.md": NOTE})
    d = deck(root)
    d.grade(d.queue(None, None, None)[0], 3, NOW, 0)
    size = d.log.path.stat().st_size
    script = f"""
import resource, sys
from datetime import datetime, UTC
sys.path.insert(0, {os.getcwd()!r})
from attnkb.srs.log import Entry, ReviewLog
resource.setrlimit(resource.RLIMIT_FSIZE, ({size + 20}, {size + 20}))
log = ReviewLog(__import__("pathlib").Path({str(root / ".attnkb")!r}), device="a")
try:
    with log.locked():
        log.append(Entry(datetime(2026, 11, 21, 11, tzinfo=UTC), "c", 3, 0, "n.md"))
except Exception as exc:
    print(type(exc).__name__, exc)
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert "AttnkbError" in r.stdout and "grade not saved" in r.stdout, r.stdout + r.stderr
    assert d.log.path.stat().st_size == size
    assert len(d.log.entries()) == 1 and d.log.warnings == []


def test_undo_names_its_entry_across_two_sessions(make_vault):
    root = make_vault({"n.md": NOTE})
    a, b = deck(root), deck(root)
    ia = a.queue(None, None, None)[0]
    ib = next(i for i in b.queue(None, None, None) if i.card.key == ia.card.key)
    easy = a.grade(ia, 4, NOW, 0)
    again = b.grade(ib, 1, NOW + timedelta(seconds=5), 0)
    a.undo(ia, NOW + timedelta(seconds=9), easy)
    left = effective_history(ReviewLog(root / ".attnkb")).reviews[ia.card.key]
    assert [e.id for e in left] == [again.id]
    assert ia.memory is not None and ia.memory.history == left  # a sees b's grade after its undo
    assert deck(root).reviewed_today() == (0, 1)  # one new card seen; the undone grade counts for nothing


def test_front_matter_summary_comes_from_the_merged_log(make_vault):
    root = make_vault({"n.md": "---\ntitle: N\n---\n" + NOTE})
    a, b = deck(root), deck(root, device="b")
    one, two = a.queue(None, None, None)
    b_two = next(i for i in b.queue(None, None, None) if i.card.key == two.card.key)
    b.grade(b_two, 1, NOW, 0)  # due again in minutes, today
    a.grade(one, 4, NOW + timedelta(seconds=30), 0)  # due in days; a never saw b's grade
    fresh = deck(root)
    assert "next_review: '2026-11-21'" in (root / "n.md").read_text()
    assert fresh.summary("n.md")["next_review"].isoformat() == "2026-11-21"
    assert two.memory is not None and two.memory.history[0].rating == 1


def test_devices_write_their_own_files_and_the_union_is_read(make_vault, monkeypatch):
    root = make_vault({"n.md": NOTE})
    monkeypatch.setenv("ATTNKB_DEVICE", "../Laptop Ü\n")
    assert device_name() == "Laptop"
    monkeypatch.delenv("ATTNKB_DEVICE")
    assert device_name() and "/" not in device_name()
    a, b = deck(root, device="laptop"), deck(root, device="desk")
    a.grade(a.queue(None, None, None)[0], 3, NOW, 0)
    b.grade(b.queue(None, None, None)[1], 3, NOW, 0)
    state = root / ".attnkb"
    assert sorted(p.name for p in (state / "reviews").iterdir()) == ["desk.log", "laptop.log"]
    shutil.copy(state / "reviews" / "desk.log", state / "reviews" / "copy.log")  # exact duplicates
    assert len(ReviewLog(state).entries()) == 2
    assert "merge=union" in (state / ".gitattributes").read_text()
    assert "index.sqlite" in (state / ".gitignore").read_text()


def test_a_v1_log_is_read_and_migrated_on_the_first_write(make_vault):
    from attnkb.note import parse_text
    from attnkb.srs.cards import cards_for

    one, two = (c.id for c in cards_for(parse_text("n.md", NOTE)))
    v1 = (
        "# attnkb review log v1: time, card, rating (1-4 or undo), duration ms, note path\n"
        f"2026-11-19T10:00:00+00:00\t{one}\t3\t100\tn.md\n"
        f"2026-11-19T10:01:00+00:00\t{two}\t4\t100\tn.md\n"
        f"2026-11-19T10:02:00+00:00\t{two}\tundo\t0\tn.md\n"
    )
    root = make_vault({"n.md": NOTE, ".attnkb/reviews.log": v1})
    before = {
        k: [e.rating for e in h] for k, h in effective_history(ReviewLog(root / ".attnkb")).reviews.items()
    }
    assert before == {("n.md", one): [3]}
    clone = make_vault({"n.md": NOTE, ".attnkb/reviews.log": v1}, name="clone")
    for vault, device in ((root, "a"), (clone, "b")):
        d = deck(vault, device=device)
        d.grade(d.items[("n.md", two)], 3, NOW, 0)
        assert not (vault / ".attnkb" / "reviews.log").exists()
    shutil.copy(clone / ".attnkb" / "reviews" / "b.log", root / ".attnkb" / "reviews" / "b.log")
    after = effective_history(ReviewLog(root / ".attnkb")).reviews
    assert [e.rating for e in after[("n.md", one)]] == [3]  # migrated twice, counted once
    assert [e.rating for e in after[("n.md", two)]] == [3, 3]  # the two devices' new grades


def git(cwd, *args):
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "pull.rebase=false", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("devices", [("a", "b"), ("same", "same")])  # two hosts of one name: merge=union
def test_two_clones_merge_their_reviews_without_conflict(tmp_path, cli, devices):
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "--bare", "-b", "main")
    seed = tmp_path / "seed"
    notes = {f"n{i}.md": f"# N{i}\n\n### Q: q{i}?\nA{i}\n" for i in range(3)}
    seed.mkdir()
    for name, text in notes.items():
        (seed / name).write_text(text)
    assert cli("init", seed).exit_code == 0
    # notes' summary keys would differ between devices: a synced vault leaves them to the log
    (seed / ".attnkb" / "config.toml").write_text("[review]\nfront_matter_summary = false\n")
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-qm", "vault")
    git(seed, "push", "-q", str(origin), "main")
    assert "index.sqlite" not in git(seed, "ls-files").stdout
    a, b = tmp_path / "a", tmp_path / "b"
    git(tmp_path, "clone", "-q", str(origin), str(a))
    git(tmp_path, "clone", "-q", str(origin), str(b))
    env = {"ATTNKB_NOW": "2026-11-21T10:00:00+00:00"}
    # a reviews n0 and n1, b reviews n1 (the same card) and n2
    assert (
        cli(
            "--vault",
            a,
            "review",
            "--limit",
            "2",
            input="\n3\n\n4\n",
            env={**env, "ATTNKB_DEVICE": devices[0]},
        ).exit_code
        == 0
    )
    b_env = {"ATTNKB_NOW": "2026-11-21T18:00:00+00:00", "ATTNKB_DEVICE": devices[1]}
    r = cli("--vault", b, "review", input="s\n\n1\n\n3\n\n3\nq\n", env=b_env)
    assert r.exit_code == 0, r.output
    for clone, msg in ((a, "a"), (b, "b")):
        git(clone, "add", "-A")
        git(clone, "commit", "-qm", msg)
    git(a, "push", "-q", "origin", "main")
    git(b, "pull", "-q", "--no-edit", "origin", "main")  # b's notes changed too: a real merge
    git(b, "push", "-q", "origin", "main")
    git(a, "pull", "-q", "--no-edit", "origin", "main")
    assert git(a, "status", "--porcelain").stdout == ""
    later = {"ATTNKB_NOW": "2026-11-22T10:00:00+00:00"}
    due_a = cli("--vault", a, "due", "--json", env=later).stdout
    due_b = cli("--vault", b, "due", "--json", env=later).stdout
    assert due_a == due_b
    history = effective_history(ReviewLog(a / ".attnkb")).reviews
    counts = sorted((path, len(h)) for (path, _), h in history.items())
    assert counts == [("n0.md", 1), ("n1.md", 3), ("n2.md", 1)]
