"""The traffic forecast: hour of week, expected requests between two moments, learning from serving counts."""

from datetime import UTC, datetime, timedelta

import pytest

from app.serving.traffic import LEARN_WEEKS, TrafficForecast, hour_of_week, learn_forecast

MONDAY = datetime(2026, 11, 30, tzinfo=UTC)


def test_hour_of_week_starts_on_monday_midnight_utc():
    assert hour_of_week(MONDAY.timestamp()) == 0
    assert hour_of_week((MONDAY + timedelta(hours=25, minutes=59)).timestamp()) == 25
    assert hour_of_week((MONDAY - timedelta(seconds=1)).timestamp()) == 167  # Sunday 23:59:59


def test_requests_between_follows_the_hours_and_wraps_the_week():
    forecast = TrafficForecast(tuple(float(h) for h in range(168)))
    start = MONDAY.timestamp()
    assert forecast.requests_between(start, start + 3600) == pytest.approx(0.0)
    assert forecast.requests_between(start + 3600, start + 3 * 3600) == pytest.approx(1 + 2)
    assert forecast.requests_between(start + 1.5 * 3600, start + 2 * 3600) == pytest.approx(0.5)  # uniform
    week = sum(range(168))
    assert forecast.requests_between(start - 3600, start + 7 * 86400 + 3600) == pytest.approx(week + 167)
    assert forecast.requests_between(start + 10, start) == 0.0


def test_a_forecast_has_168_hours_none_negative():
    with pytest.raises(ValueError):
        TrafficForecast((1.0,) * 24)
    with pytest.raises(ValueError):
        TrafficForecast((1.0,) * 167 + (-1.0,))


def test_each_hour_of_the_week_is_the_mean_of_the_weeks_counted():
    now = MONDAY + timedelta(minutes=30)
    counts = [(MONDAY - timedelta(weeks=w, hours=1), 100 * (w + 1)) for w in (0, 1)]  # Sundays 23:00
    counts.append((MONDAY - timedelta(weeks=2), 40))  # the first count; Monday 00:00 passed twice since
    counts.append((MONDAY, 10_000))  # the current hour is not complete: ignored
    counts.append((MONDAY - timedelta(weeks=LEARN_WEEKS, hours=1), 10_000))  # too old
    forecast = learn_forecast(counts, now)
    assert forecast.per_hour[167] == pytest.approx(150)  # (100 + 200) / 2
    assert forecast.per_hour[0] == pytest.approx(20)  # 40, then an hour without requests
    assert forecast.per_hour[5] == 0  # seen twice, never a request


def test_hours_not_yet_seen_take_the_mean_of_those_seen():
    counts = [(MONDAY - timedelta(hours=2), 30), (MONDAY - timedelta(hours=1), 90)]
    forecast = learn_forecast(counts, MONDAY)
    assert forecast.per_hour[166:] == (30, 90)
    assert forecast.per_hour[0] == forecast.per_hour[100] == pytest.approx(60)


def test_no_counts_no_forecast():
    assert learn_forecast([], MONDAY) is None
    assert learn_forecast([(MONDAY - timedelta(weeks=9), 5)], MONDAY) is None
