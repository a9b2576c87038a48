"""The replay benchmark's helpers: the FSRS CSV reader and srs-benchmark's protocol."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from attnkb.srs.optimize import samples
from benchmarks import srs_protocol
from benchmarks.fsrs_csv import CsvReview, read_fsrs_csv


def test_fsrs_csv_rows_become_reviews_and_bad_rows_name_their_line(tmp_path):
    from attnkb.errors import UsageError

    good = tmp_path / "log.csv"
    good.write_text(
        "card_id,review_time,review_rating,review_state,review_duration\n7,2024-01-02T03:04:05+00:00,3,1,5000\n"
    )
    assert read_fsrs_csv(good) == [CsvReview("7", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), 3, 5000)]
    for row, problem in (
        ("2,yesterday,3,1", "Invalid isoformat"),
        ("2,2024-01-02T03:04:05,3,1", "no UTC offset"),
        ("2,2024-01-02T03:04:05+00:00,0,1", "rating 0 is not 1-4"),
        ("2,2024-01-02T03:04:05+00:00,3", "NoneType"),
    ):
        bad = tmp_path / "bad.csv"
        bad.write_text(
            f"card_id,review_time,review_rating,review_duration\n1,2024-01-02T00:00:00+00:00,3,1\n{row}\n"
        )
        with pytest.raises(UsageError) as caught:
            read_fsrs_csv(bad)
        assert str(caught.value).startswith(f"{bad}:3: not an FSRS review row")
        assert problem in str(caught.value)


def test_splits_are_sklearns_time_series_split():
    # TimeSeriesSplit(5) on 13 samples: test size 13 // 6 = 2, the first 3 samples never tested
    assert [(list(a), list(b)) for a, b in srs_protocol.splits(13)] == [
        ([0, 1, 2], [3, 4]),
        ([0, 1, 2, 3, 4], [5, 6]),
        ([0, 1, 2, 3, 4, 5, 6], [7, 8]),
        ([0, 1, 2, 3, 4, 5, 6, 7, 8], [9, 10]),
        ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [11, 12]),
    ]
    with pytest.raises(ValueError):
        srs_protocol.splits(5)


def test_outlier_filter_drops_rare_first_intervals_with_the_cards_later_reviews():
    start = datetime(2024, 1, 1, 12, tzinfo=UTC)
    reviews = []
    for c, first in enumerate([1] * 40 + [7] * 3 + [200]):
        reviews += [(f"c{c}", start, 3), (f"c{c}", start + timedelta(hours=1), 3)]  # same day: never scored
        reviews += [
            (f"c{c}", start + timedelta(days=first), 1),
            (f"c{c}", start + timedelta(days=first + 3), 3),
        ]
    rows = srs_protocol.dataset(samples(reviews, UTC, 4))
    # 4 of 44 cards (< 20 reviews) lost to the filter: their first intervals are the rarest
    assert {r.sample.card for r in rows} == {f"c{c}" for c in range(40)}
    assert len(rows) == 80
    second = [r for r in rows if r.i == 3]
    assert all(r.lapses == 1 and r.sample.delta_t == 3 for r in second)
    assert srs_protocol.bin_of(second[0]) == (2.48, 4, 2)


def test_default_fsrs6_scores_the_shared_log_as_srs_benchmark_does():
    import time

    from tests.conftest import need_shared

    data = need_shared("data", "fsrs-review-log.csv")
    reviews = read_fsrs_csv(data)
    rows = srs_protocol.dataset(samples(((r.card, r.time, r.rating) for r in reviews), UTC, 4))
    score = srs_protocol.cross_validate(
        rows, srs_protocol.fit_default, srs_protocol.predict, time.perf_counter
    )
    # measured with srs-benchmark on this log: log loss 0.440, RMSE(bins) 0.065
    assert score.log_loss == pytest.approx(0.440, abs=0.005)
    assert score.rmse_bins == pytest.approx(0.065, abs=0.005)
    assert score.scored == len(rows) // 6 * 5
