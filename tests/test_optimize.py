"""``attnkb optimize``: fitting FSRS parameters to a vault's log and writing them to config.toml."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnkb.srs.config import load
from attnkb.srs.log import HEADER, LOG_DIR, Entry
from attnkb.srs.optimize import MIN_ITEMS, samples

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
# a learner whose memory is not FSRS's average one: short first stabilities, a steeper curve
TRUE_PARAMETERS = [0.1, 0.4, 1.0, 4.0, 6.4, 0.83, 3.0, 0.001, 1.2, 0.17, 0.8, 1.5, 0.06, 0.26, 1.6]
TRUE_PARAMETERS += [0.6, 1.9, 0.54, 0.09, 0.07, 0.5]


def write_log(root: Path, reviews: list[tuple[str, datetime, int]]) -> None:
    """One device's review log as attnkb writes it, in one go (appending 10,000 lines with
    fsync each would dominate the test's time)."""
    logs = root / ".attnkb" / LOG_DIR
    logs.mkdir(parents=True, exist_ok=True)
    (root / "n.md").write_text("# The note the reviews name\n", encoding="utf-8")
    lines = [Entry(when, card, rating, 4000, "n.md").line() for card, when, rating in reviews]
    (logs / "test.log").write_text(HEADER + "".join(lines), encoding="utf-8")


def simulated_reviews(cards: int, seed: int = 7) -> list[tuple[str, datetime, int]]:
    """Reviews of a learner who remembers as TRUE_PARAMETERS say, reviewing when FSRS's default
    schedule would: the default parameters mispredict them, so a fit has something to find."""
    import fsrs_rs_python as rs

    truth = rs.FSRS(TRUE_PARAMETERS)
    rng = random.Random(seed)
    decay = TRUE_PARAMETERS[20]
    factor = 0.9 ** (-1 / decay) - 1
    out = []
    for c in range(cards):
        when = START + timedelta(days=rng.randrange(20), minutes=c)
        steps = [(rng.choice([1, 3, 3, 3]), 0)]
        out.append((f"c{c}", when, steps[0][0]))
        for _ in range(7):
            gap = rng.choice([1, 2, 3, 5, 8, 13])
            state = truth.memory_state(rs.FSRSItem([rs.FSRSReview(r, d) for r, d in steps]))
            recall = rng.random() < (1 + factor * gap / state.stability) ** -decay
            rating = 3 if recall else 1
            when += timedelta(days=gap)
            steps.append((rating, gap))
            out.append((f"c{c}", when, rating))
    return out


CONFIG = (
    "\ufeff# my settings\r\n[review]\r\n# a little lower than the default\r\n"
    "desired_retention = 0.85  # checked\r\nnew_per_day = 10\r\n\r\n[other]\r\nkeep = 'me'\r\n"
)


@pytest.fixture
def vault(tmp_path) -> Path:
    root = tmp_path / "vault"
    write_log(root, simulated_reviews(80))
    (root / ".attnkb" / "config.toml").write_bytes(CONFIG.encode())
    return root


def test_optimize_writes_better_parameters_and_keeps_the_users_file(cli, vault):
    result = cli("--vault", vault, "optimize")
    assert result.exit_code == 0, result.output
    assert "current (default)" in result.output and "fitted" in result.output
    assert f"Wrote [review] parameters to {vault / '.attnkb' / 'config.toml'}" in result.output
    new = (vault / ".attnkb" / "config.toml").read_bytes().decode()
    written = [ln for ln in new.split("\r\n") if ln.startswith("parameters = ")]
    assert len(written) == 1
    assert new.replace(written[0] + "\r\n", "") == CONFIG  # every other byte kept: BOM, CRLF, comments
    config = load(vault / ".attnkb")
    assert config.parameters is not None and len(config.parameters) == 21
    assert config.desired_retention == 0.85
    # what was written is what the fit found, and it predicts the log better than the defaults
    scores = {
        ln.split()[0]: [float(x) for x in ln.split()[-2:]]
        for ln in result.output.splitlines()
        if ln.startswith(("current", "fitted"))
    }
    assert scores["fitted"][1] < scores["current"][1]
    changed = next(ln for ln in result.output.splitlines() if ln.startswith("Changed: "))
    assert f"w0 0.212 → {config.parameters[0]:g}" in changed

    again = cli("--vault", vault, "optimize")
    assert again.exit_code == 0
    assert "current (fitted)" in again.output
    assert (vault / ".attnkb" / "config.toml").read_bytes().decode() == new


def test_dry_run_shows_the_fit_and_leaves_config_byte_identical(cli, vault):
    before = (vault / ".attnkb" / "config.toml").read_bytes()
    result = cli("--vault", vault, "optimize", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run:" in result.output and "Changed: w0" in result.output
    assert (vault / ".attnkb" / "config.toml").read_bytes() == before


def test_a_fit_that_predicts_worse_is_not_kept(cli, vault):
    from attnkb.srs.optimize import Optimization, Scored

    current = Scored((0.1,) * 21, 0.40, 0.05)
    worse = Scored((0.2,) * 21, 0.39, 0.06)
    assert not Optimization(500, 300, current, worse).improved
    assert Optimization(500, 300, worse, current).improved
    assert not Optimization(500, 300, current, Scored(current.parameters, 0.3, 0.01)).improved
    assert Optimization(500, 300, current, worse).kept == current


def test_too_few_reviews_says_how_many_are_needed_and_keeps_the_defaults(cli, tmp_path):
    root = tmp_path / "vault"
    write_log(root, simulated_reviews(3))
    result = cli("--vault", root, "optimize")
    assert result.exit_code == 0, result.output
    assert "21 of your 24 reviews can be learned from" in result.output
    assert (
        f"needs at least {MIN_ITEMS}" in result.output and "Keeping the default parameters" in result.output
    )
    assert not (root / ".attnkb" / "config.toml").exists()


def test_a_new_config_file_gets_a_review_table(cli, tmp_path):
    root = tmp_path / "vault"
    write_log(root, simulated_reviews(80))
    assert cli("--vault", root, "optimize").exit_code == 0
    assert load(root / ".attnkb").parameters is not None
    assert (root / ".attnkb" / "config.toml").read_text().startswith("[review]\nparameters = [")


@pytest.mark.parametrize(
    ("content", "where", "message"),
    [
        (b"[review]\nfuzz = true\n[review\n", ":3: ", "invalid TOML"),
        (b"review = 5\n", "(:1)?: ", "review must be a table"),
        (b"[[review]]\nfuzz = true\n", "(:1)?: ", "review must be a table"),
        (b"[review]\nparameters = [1, 2, 3]\n", ":2: ", "parameters must hold 17, 19 or 21 FSRS weights"),
        (b"[review]\nparameters = [nan, 1, 2]\n", ":2: ", "parameters must be a list of numbers"),
        (b"[review]\ndesired_retention = 2\n", ":2: ", "desired_retention"),
        (b"\xff\xfe[review]\n", ": ", "not UTF-8"),
        (b"a = " + b"[" * 500 + b"]" * 500 + b"\n", ":1: ", "nested"),
    ],
)
def test_a_hostile_config_is_a_clear_error_and_stays_untouched(cli, vault, content, where, message):
    path = vault / ".attnkb" / "config.toml"
    path.write_bytes(content)
    result = cli("--vault", vault, "optimize")
    assert result.exit_code == 2
    assert re.match(f"attnkb: {re.escape(str(path))}{where}", result.stderr), result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert path.read_bytes() == content


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("[]=\"'#.,\n -_0123456789abcdefnrtuvw{}")), max_size=120))
def test_any_config_text_gives_a_fit_or_a_one_line_error(cli, tmp_path, text):
    root = tmp_path / "fuzz"
    if not root.exists():
        write_log(root, simulated_reviews(3))
    path = root / ".attnkb" / "config.toml"
    path.write_text(text, encoding="utf-8")
    result = cli("--vault", root, "optimize")
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.stderr.startswith(f"attnkb: {path}") and result.stderr.count("\n") == 1
        assert "internal error" not in result.stderr
    assert path.read_text(encoding="utf-8") == text


def test_study_days_start_at_the_rollover_hour():
    at = lambda h, day=5: datetime(2026, 1, day, 0, tzinfo=UTC) + timedelta(hours=h)  # noqa: E731
    reviews = [("late", at(23), 3), ("late", at(8, 6), 3), ("night", at(1), 3), ("night", at(5), 3)]
    reviews += [("day", at(5), 3), ("day", at(23), 3)]
    gaps = {h.card: h.delta_t for h in samples(reviews, UTC, 4) if len(h.steps) == 2}
    assert gaps == {"late": 1, "night": 1, "day": 0}
    assert {h.card: h.delta_t for h in samples(reviews, UTC, 0) if len(h.steps) == 2}["night"] == 0


def test_optimize_on_a_vault_built_from_the_shared_log(cli, tmp_path):
    from benchmarks.fsrs_csv import read_fsrs_csv
    from tests.conftest import need_shared

    data = need_shared("data", "fsrs-review-log.csv")
    root = tmp_path / "vault"
    write_log(root, [(r.card, r.time, r.rating) for r in read_fsrs_csv(data)])
    result = cli("--vault", root, "optimize", "--dry-run", env={"ATTNKB_NOW": "2026-11-22T12:00:00+00:00"})
    assert result.exit_code == 0, result.output
    assert "Fitted FSRS-6 to 6276 of 12580 reviews" in result.output  # study days in UTC
    scores = {
        ln.split()[0]: [float(x) for x in ln.split()[-2:]]
        for ln in result.output.splitlines()
        if ln.startswith(("current", "fitted"))
    }
    assert scores["fitted"][0] < scores["current"][0] and scores["fitted"][1] < scores["current"][1]
    assert "Desired retention with the least work" in result.output
    assert not (root / ".attnkb" / "config.toml").exists()


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([f"c{k}" for k in range(12)]),
            st.datetimes(
                min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
            ),
            st.integers(1, 4),
        ),
        min_size=0,
        max_size=400,
    ),
    st.integers(0, 23),
)
def test_any_review_history_gives_a_result_or_a_clear_error(reviews, rollover):
    from attnkb.errors import AttnkbError
    from attnkb.srs.config import ReviewConfig
    from attnkb.srs.optimize import optimize

    try:
        result = optimize(reviews, ReviewConfig(day_starts_at=rollover))
    except AttnkbError:
        return
    assert result.reviews == len(reviews)
    assert result.items == sum(h.trains for h in samples(reviews, None, rollover))
    if result.enough:
        assert result.kept is not None and len(result.kept.parameters) == 21
        assert all(0 <= s.log_loss < 50 and 0 <= s.rmse_bins <= 1 for s in (result.current, result.fitted))
    else:
        assert result.current is None and result.fitted is None


def test_fitting_reads_grades_and_leaves_out_cards_imported_with_a_memory():
    from attnkb.srs.log import SET_STATE, StartState
    from attnkb.srs.optimize import graded

    t = START
    own = [Entry(t, "a", 3, 1000, "n.md"), Entry(t + timedelta(days=2), "a", 1, 1000, "n.md")]
    imported = [
        Entry(t, "b", SET_STATE, 0, "n.md", start=StartState(12.0, 5.0, t + timedelta(days=12))),
        Entry(t + timedelta(days=12), "b", 3, 1000, "n.md"),
    ]
    reviews = graded({("n.md", "a"): own, ("n.md", "b"): imported})
    assert reviews == [(("n.md", "a"), t, 3), (("n.md", "a"), t + timedelta(days=2), 1)]
