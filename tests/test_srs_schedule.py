"""Scheduling as Anki does it: study days, seeded fuzz, button order, the session that re-shows
what you forgot, new cards apart from overdue ones, config validation, history on rename."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnkb.srs.config import CHECKS, ReviewConfig
from attnkb.srs.deck import Deck
from attnkb.srs.log import ReviewLog
from attnkb.srs.memory import REVIEW, Memory, Scheduler
from attnkb.srs.session import Session, SessionClock
from attnkb.vault import Index

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
NOTE = "# N\n\n### Q: one?\nA1\n\n### Q: two?\nA2\n"


def deck(root, now=NOW, config=None):
    d = Deck(root, Index(root).notes(), config or ReviewConfig(), now)
    d.log = ReviewLog(root / ".attnkb", device="t")
    return d


def review_card(s: float, d: float, last: datetime, interval: int = 3) -> Memory:
    return Memory(REVIEW, 0, s, d, last, last + timedelta(days=interval), interval, reps=3)


# --- days and fuzz --------------------------------------------------------------------------


def test_days_turn_at_the_rollover_hour_not_after_24_hours():
    sched = Scheduler(ReviewConfig(), UTC)
    evening = review_card(5, 5, datetime(2026, 11, 20, 23, 0, tzinfo=UTC))
    assert sched.elapsed(evening, datetime(2026, 11, 21, 8, 0, tzinfo=UTC)) == 1  # 9 hours, next day
    assert sched.elapsed(evening, datetime(2026, 11, 21, 3, 59, tzinfo=UTC)) == 0  # before 4 am
    late = Scheduler(ReviewConfig(day_starts_at=10), UTC)
    assert late.elapsed(evening, datetime(2026, 11, 21, 9, 0, tzinfo=UTC)) == 0


def test_streak_and_reviews_per_day_count_study_days(make_vault, cli):
    root = make_vault({"a.md": "# A\n", "b.md": "# B\n"})
    for moment in ("2026-11-20T23:30:00+00:00", "2026-11-21T03:30:00+00:00"):
        env = {"ATTNKB_DEVICE": "t", "ATTNKB_NOW": moment}
        cli("--vault", root, "review", "--limit", "1", input="\n3\n", env=env)
    stats = json.loads(
        cli("--vault", root, "stats", "--json", env={"ATTNKB_NOW": "2026-11-21T12:00:00+00:00"}).stdout
    )
    assert stats["reviews_per_day"] == {"2026-11-20": 2} and stats["streak_days"] == 1


def test_hard_good_easy_keep_their_order():
    sched = Scheduler(ReviewConfig(fuzz=False), UTC)
    card = review_card(0.8, 8, NOW - timedelta(days=2), 2)
    got = sched.options(card, NOW, "c")
    assert got[2].interval < got[3].interval < got[4].interval


@given(
    s=st.floats(0.1, 3000),
    d=st.floats(1, 10),
    elapsed=st.integers(0, 400),
    fuzz=st.booleans(),
    card=st.text(max_size=8),
)
def test_review_intervals_are_ordered_fuzzed_within_bounds_and_reproducible(s, d, elapsed, fuzz, card):
    sched = Scheduler(ReviewConfig(fuzz=fuzz), UTC)
    memory = review_card(s, d, NOW - timedelta(days=elapsed), max(elapsed, 1))
    got = sched.options(memory, NOW, card)
    hard, good, easy = (got[r].interval for r in (2, 3, 4))
    assert hard >= 1 and good >= hard + 1 and easy >= good + 1
    assert easy <= 36500
    unfuzzed = Scheduler(ReviewConfig(fuzz=False), UTC).options(memory, NOW, card)[3].interval
    if unfuzzed > elapsed:
        assert good >= elapsed + 1
    assert sched.options(memory, NOW, card) == got  # the same review always gets the same fuzz


def test_fuzz_spreads_cards_that_would_fall_on_one_day():
    sched = Scheduler(ReviewConfig(), UTC)
    memory = review_card(30, 5, NOW - timedelta(days=10), 10)
    spread = {sched.options(memory, NOW, f"card{i}")[3].interval for i in range(50)}
    plain = Scheduler(ReviewConfig(fuzz=False), UTC).options(memory, NOW, "card")[3].interval
    assert len(spread) >= 3 and min(spread) < plain < max(spread)


def test_due_dates_are_the_same_on_every_run(make_vault, cli):
    root = make_vault({f"n{i}.md": f"# N{i}\n\n### Q: q{i}?\nA\n" for i in range(30)})
    env = {"ATTNKB_NOW": "2026-11-21T10:00:00+00:00", "ATTNKB_DEVICE": "t"}
    cli("--vault", root, "review", input="\n3\n" * 60, env=env)
    later = {"ATTNKB_NOW": "2026-11-22T10:00:00+00:00"}
    runs = {cli("--vault", root, "due", "--json", env=later).stdout for _ in range(2)}
    assert len(runs) == 1
    assert len(json.loads(runs.pop())["week"]) == 20  # the day's 20 new cards, graduated


def test_what_a_button_shows_is_what_the_grade_applies(make_vault):
    root = make_vault({"n.md": NOTE})
    d = deck(root)
    item = d.queue(None, None, None)[0]
    when = NOW
    for rating in (3, 3, 3, 2, 4, 1, 3):
        shown = d.preview(item, when)[rating]
        d.grade(item, rating, when, 0)
        assert (item.memory.interval, item.memory.due, item.memory.phase) == (
            shown.interval,
            shown.due,
            shown.phase,
        )
        when = item.memory.due + timedelta(hours=5)


def test_fitted_parameters_from_config_are_used():
    default = Scheduler(ReviewConfig(), UTC).options(None, NOW, "c")[3].stability
    weights = list(__import__("fsrs_rs_python").DEFAULT_PARAMETERS)
    weights[2] = 9.0  # the initial stability after Good
    fitted = Scheduler(ReviewConfig(parameters=tuple(weights)), UTC).options(None, NOW, "c")[3].stability
    assert fitted == pytest.approx(9.0, rel=1e-5) and default != fitted


# --- the session ----------------------------------------------------------------------------


def test_a_card_graded_again_comes_back_in_the_same_piped_session(make_vault, cli):
    root = make_vault({"n.md": "# N\n\n### Q: only question?\nthe answer\n"})
    env = {"ATTNKB_NOW": "2026-11-21T10:00:00+00:00", "ATTNKB_DEVICE": "t"}
    r = cli("--vault", root, "review", input="\n1\n\n3\n\n3\n", env=env)
    assert r.exit_code == 0, r.output
    assert r.stdout.count("only question?") == 3  # Again (1m), Good (10m step), Good (graduates)
    assert "Reviewed 3 cards" in r.stdout and "Next due after today: 2026-11-2" in r.stdout
    times = [e.time for e in ReviewLog(root / ".attnkb").entries()]
    assert times[1] - times[0] >= timedelta(minutes=1)  # the clock jumped to when it fell due
    r = cli("--vault", root, "review", input="", env=env)
    assert "Nothing to review now.\nNext due after today: 2026-11-2" in r.stdout


def test_the_end_summary_says_what_comes_back(make_vault, cli):
    root = make_vault({"n.md": "# N\n\n### Q: only question?\nthe answer\n"})
    config = '[review]\nlearning_steps = ["1m", "2h"]\n'
    (root / ".attnkb").mkdir()
    (root / ".attnkb" / "config.toml").write_text(config)
    env = {"ATTNKB_NOW": "2026-11-21T10:00:00+00:00", "ATTNKB_DEVICE": "t"}
    r = cli("--vault", root, "review", input="\n3\n", env=env)
    assert "1 card is in its learning steps and comes back at 12:00" in r.stdout
    assert "Left: 1 card due today; attnkb due lists them." in r.stdout


def test_one_notes_problem_never_ends_the_session(make_vault):
    root = make_vault({"a.md": NOTE, "b.md": NOTE, "c.md": NOTE})
    d = deck(root)
    session = Session(d, d.queue(None, None, None), SessionClock(NOW))
    session.start()
    (root / "a.md").unlink()  # deleted mid-session
    (root / "b.md").chmod(0o444)  # read-only
    before = (root / "b.md").read_bytes()
    (root / "c.md").write_bytes(b"---\n'review_count': 1\n---\n# N\n\n### Q: one?\nA1\n\n### Q: two?\nA2\n")
    graded = 0
    while not session.finished:
        session.key("enter")
        if session.key("4") == "graded":
            graded += 1
    assert graded == 6
    assert len(ReviewLog(root / ".attnkb").entries()) == 6  # every grade kept in the log
    assert (root / "b.md").read_bytes() == before
    assert any("a.md" in n and "review logged" in n for n in d.notices)
    assert any("read-only" in n for n in d.notices)


def test_undo_in_a_session_takes_back_the_right_grade(make_vault):
    root = make_vault({"n.md": NOTE})
    d = deck(root)
    session = Session(d, d.queue(None, None, None), SessionClock(NOW))
    session.start()
    first = session.current
    session.key("enter")
    session.key("4")
    assert session.key("u") == "undone" and session.current is first and first.memory is None
    session.key("enter")
    session.key("3")
    ratings = [e.rating for e in ReviewLog(root / ".attnkb").entries()]
    assert ratings == [4, 0, 3]


# --- new cards -----------------------------------------------------------------------------


def test_unreviewed_cards_are_new_never_overdue(make_vault, cli):
    planned = "---\nnext_review: '2026-11-01'\nreview_count: {n}\n---\n# P{n}\n"
    root = make_vault(
        {
            "fresh.md": "---\nnext_review: '2026-11-01'\ncreated: '2026-11-01'\n---\n# Fresh\n",
            "zero.md": planned.format(n=0),
            "kept.md": planned.format(n=3),
        }
    )
    env = {"ATTNKB_NOW": "2026-11-21T10:00:00+00:00"}
    due = json.loads(cli("--vault", root, "due", "--json", env=env).stdout)
    assert set(due) == {"new", "overdue", "today", "week"}
    assert sorted(g["path"] for g in due["new"]) == ["fresh.md", "zero.md"]
    assert [g["path"] for g in due["overdue"]] == ["kept.md"]  # a real schedule kept by hand
    assert all(g["due"] is None for g in due["new"])
    text = cli("--vault", root, "due", env=env).stdout
    assert "New (2), 20 a day" in text and "Overdue (1)" in text


def test_new_cards_start_from_the_notes_most_linked_to(make_vault):
    root = make_vault(
        {
            "a-advanced.md": "# Advanced\n\n[[Basics]]\n",
            "b-middle.md": "# Middle\n\n[[Basics]] [[Advanced]]\n",
            "z-basics.md": "# Basics\n",
        }
    )
    order = [i.card.path for i in deck(root).queue(None, None, None)]
    assert order == ["z-basics.md", "a-advanced.md", "b-middle.md"]
    by_path = deck(root, config=ReviewConfig(new_order="path")).queue(None, None, None)
    assert [i.card.path for i in by_path] == sorted(order)


def test_the_starter_vault_opens_on_its_foundations(tmp_path, cli):
    assert cli("init", tmp_path / "v", "--starter").exit_code == 0
    root = tmp_path / "v"
    env = {"ATTNKB_NOW": "2030-01-01T10:00:00+00:00"}
    due = json.loads(cli("--vault", root, "due", "--json", env=env).stdout)
    assert due["overdue"] == [] and len(due["new"]) > 20
    first = list(dict.fromkeys(g["path"] for g in due["new"]))[:4]
    assert first[0] == "注意力机制概述.md" and {"查询键值QKV.md", "Softmax与温度.md"} <= set(first)


def test_daily_limits_ignore_undone_grades(make_vault):
    root = make_vault({f"n{i}.md": f"# N{i}\n" for i in range(4)})
    d = deck(root, config=ReviewConfig(new_per_day=2))
    first = d.queue(None, None, None)[0]
    entry = d.grade(first, 3, NOW, 0)
    d.undo(first, NOW, entry)
    assert len(deck(root, config=ReviewConfig(new_per_day=2)).queue(None, None, None)) == 2


# --- config -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("desired_retention = 1e-300", "desired_retention"),
        ('learning_steps = ["999999999999d"]', "learning_steps"),
        ('fuzz = "false"', "fuzz"),
        ("reviews_per_day = -1", "reviews_per_day"),
        ("day_starts_at = 24", "day_starts_at"),
        ('new_order = "random"', "new_order"),
        ('learn_ahead = "2d"', "learn_ahead"),
        ("parameters = [1, 2]", "parameters"),
        ("maximum_interval = 0", "maximum_interval"),
        ('relearning_steps = "10m"', "relearning_steps"),
    ],
)
def test_bad_config_values_are_refused_with_key_and_line(make_vault, cli, line, needle):
    root = make_vault(
        {".attnkb/config.toml": f"# mine\n[review]\nnew_per_day = 5\n{line}\n", "n.md": "# N\n"}
    )
    r = cli("--vault", root, "due")
    assert r.exit_code == 2 and f"config.toml:4: [review] {needle}" in r.stderr, r.stderr
    assert "Traceback" not in r.output


def test_unknown_config_keys_are_warned_not_fatal(make_vault, cli):
    root = make_vault({".attnkb/config.toml": "[review]\nfuz = false\nnew_per_day = 1\n", "n.md": "# N\n"})
    r = cli("--vault", root, "due")
    assert r.exit_code == 0 and "config.toml:2: warning: unknown key [review] fuz" in r.stderr
    assert "New (1), 1 a day" in r.stdout


# --- history on renames -------------------------------------------------------------------


TEMPLATE = "# {title}\n\n### Q: 定义是什么？\n{answer}\n\n### Q: 为什么重要？\n{answer}\n"


def test_history_follows_a_renamed_note_only_when_its_content_matches(make_vault):
    root = make_vault({"old.md": TEMPLATE.format(title="Softmax", answer="归一化。")})
    d = deck(root)
    for item in d.queue(None, None, None):
        d.grade(item, 3, NOW, 0)
    (root / "old.md").rename(root / "moved.md")
    moved = deck(root)
    assert all(i.memory is not None for i in moved.items.values())
    # a new note from the same template with the same questions gets nothing
    (root / "moved.md").unlink()
    (root / "new.md").write_text(TEMPLATE.format(title="Dropout", answer="待填写"))
    fresh = deck(root)
    assert all(i.memory is None for i in fresh.items.values())


def test_history_stays_when_the_old_note_still_exists(make_vault):
    text = TEMPLATE.format(title="Softmax", answer="归一化。")
    root = make_vault({"old.md": text})
    d = deck(root)
    d.grade(d.queue(None, None, None)[0], 3, NOW, 0)
    (root / "copy.md").write_text(text)
    d2 = deck(root)
    assert [i.card.path for i in d2.items.values() if i.memory is not None] == ["old.md"]


def test_the_review_limit_counts_reviews_not_learning_steps(make_vault):
    root = make_vault({"a.md": "# A\n", "b.md": "# B\n", "c.md": "# C\n"})
    d = deck(root)
    for item in d.queue(None, None, None):
        d.grade(item, 4, NOW, 0)  # Easy: graduates at once
    later = max(i.due for i in d.items.values()) + timedelta(hours=1)
    config = ReviewConfig(reviews_per_day=2)
    d2 = deck(root, now=later, config=config)
    first = d2.queue(None, None, None)[0]
    d2.grade(first, 1, later, 0)  # a lapse: relearning steps follow, the same day
    d2.grade(first, 3, later + timedelta(minutes=10), 0)
    d3 = deck(root, now=later + timedelta(minutes=20), config=config)
    assert d3.reviewed_today() == (1, 0)
    assert len(d3.queue(None, None, None)) == 1


def test_a_note_card_whose_note_is_gone_shows_no_answer_and_a_notice(make_vault):
    root = make_vault({"d.md": "# D\n\nfirst section\n\n## More\n"})
    d = deck(root)
    (item,) = d.queue(None, None, None)
    assert d.answer(item) == "first section"
    (root / "d.md").unlink()
    assert d.answer(item) == "" and "d.md: cannot read the note" in d.notices[-1]
    d.grade(item, 3, NOW, 0)
    assert len(ReviewLog(root / ".attnkb").entries()) == 1


def test_stats_leave_out_undone_grades(make_vault, cli):
    root = make_vault({"n.md": NOTE})
    env = {"ATTNKB_NOW": "2026-11-21T10:00:00+00:00", "ATTNKB_DEVICE": "t"}
    r = cli("--vault", root, "review", input="\n4\n\n1\nu\nq\n", env=env)
    assert "Undid Again on" in r.stdout and "Reviewed 1" in r.stdout
    stats = json.loads(cli("--vault", root, "stats", "--json", env=env).stdout)
    assert stats["reviews"] == 1 and stats["reviews_per_day"] == {"2026-11-21": 1}


def test_an_imported_memory_carries_on(make_vault):
    from attnkb.srs.log import SET_STATE, Entry, StartState

    root = make_vault({"n.md": NOTE})
    d = deck(root)
    item = d.queue(None, None, None)[0]
    due = NOW + timedelta(days=12)
    with d.log.locked():
        d.log.append(
            Entry(NOW - timedelta(days=3), item.card.id, SET_STATE, 0, "n.md", StartState(15.0, 4.0, due))
        )
    again = deck(root).items[item.card.key]
    assert again.memory.stability == 15.0 and again.due == due and not again.is_new
    assert again.memory.interval == 15


def test_a_bare_date_in_attnkb_now_replays_that_study_day(make_vault, cli):
    root = make_vault({"n.md": "# N\n"})
    env = {"ATTNKB_NOW": "2026-11-21", "ATTNKB_DEVICE": "t"}
    assert "Reviewed 1" in cli("--vault", root, "review", input="\n4\n", env=env).stdout
    stats = json.loads(cli("--vault", root, "stats", "--json", env=env).stdout)
    assert stats["reviews_per_day"] == {"2026-11-21": 1} and stats["streak_days"] == 1


toml_values = st.recursive(
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["10m", "0m", "1d", "365d", "366d", "99999999999999999999s", "links"]),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=8,
)


@given(key=st.sampled_from([*CHECKS, "other"]), value=toml_values)
@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_config_value_loads_or_is_refused_with_its_key(tmp_path_factory, key, value):
    import tomlkit

    from attnkb.errors import ConfigError
    from attnkb.srs.config import load

    state = tmp_path_factory.mktemp("v")
    (state / "config.toml").write_text(tomlkit.dumps({"review": {key: value}}))
    try:
        config = load(state)
    except ConfigError as exc:
        assert f"[review] {key}" in exc.message and exc.line == 2
        return
    Scheduler(config, UTC).options(review_card(3, 5, NOW - timedelta(days=2)), NOW, "c")


def test_a_note_edited_into_bad_front_matter_mid_session_keeps_the_grade(make_vault):
    root = make_vault({"n.md": NOTE})
    d = deck(root)
    item = d.queue(None, None, None)[0]
    bad = b"---\ndate: 2026-02-30\n---\n" + NOTE.encode()
    (root / "n.md").write_bytes(bad)
    d.grade(item, 3, NOW, 0)
    assert (root / "n.md").read_bytes() == bad and "n.md" in d.notices[-1]
    assert len(ReviewLog(root / ".attnkb").entries()) == 1
