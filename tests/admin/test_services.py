"""What the console added to the services: list figures, the spend curve, totals since a moment, and the
statuses a campaign may move to now."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from app.campaigns import services as campaigns
from app.db import utcnow
from app.reporting import services as reporting
from app.tracking.models import EventCountHourly
from tests.factories import CampaignFactory

UNITS = 10_000_000  # money units per currency unit


def midnight(days_from_today: int = 0):
    return utcnow().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=days_from_today)


def counted(
    session, campaign, hour, event: str, count: int, spend: Decimal = Decimal(0), error_code: str = ""
) -> None:
    session.add(
        EventCountHourly(
            hour=hour,
            campaign_id=campaign.id,
            creative_id=uuid.uuid4(),
            event=event,
            error_code=error_code,
            count=count,
            spend_units=int(spend * UNITS),
        )
    )
    session.commit()


def test_campaign_figures_in_one_call(session):
    start = utcnow() - timedelta(days=5)
    busy = CampaignFactory(
        budget_total=Decimal("100.00"), start_date=start, end_date=start + timedelta(days=10)
    )
    idle = CampaignFactory(budget_total=Decimal("50.00"))
    counted(session, busy, midnight(-1), "impression", 1000, Decimal("25.00"))
    counted(session, busy, midnight(), "impression", 500, Decimal("12.50"))
    counted(session, busy, midnight(), "complete", 400)
    figures = reporting.campaign_figures(session, [busy, idle])
    assert figures[busy.id]["impressions"] == 1500
    assert (figures[busy.id]["spend"], figures[busy.id]["budget_remaining"]) == ("37.50", "62.50")
    pacing = figures[busy.id]["pacing"]
    assert pacing["spend_share"] == 0.375 and pacing["elapsed_share"] == pytest.approx(0.5, abs=0.001)
    assert pacing["index"] == pytest.approx(0.75, abs=0.01)
    assert figures[idle.id] == {
        "impressions": 0,
        "spend": "0.00",
        "budget_remaining": "50.00",
        "pacing": {
            "spend_share": 0.0,
            "elapsed_share": figures[idle.id]["pacing"]["elapsed_share"],
            "index": 0.0,
        },
    }
    assert reporting.campaign_figures(session, []) == {}


def test_spend_curve_accumulates_by_day_against_the_pacing_line(session):
    campaign = CampaignFactory(budget_total=Decimal("100.00"), start_date=midnight(-2), end_date=midnight(2))
    counted(session, campaign, midnight(-2) + timedelta(hours=5), "impression", 10, Decimal("10.00"))
    counted(session, campaign, midnight() + timedelta(minutes=1), "impression", 5, Decimal("5.00"))
    curve = reporting.spend_curve(session, campaign.id, now=midnight() + timedelta(hours=1))
    assert [(point["day"], point["spend_to_date"], point["pacing_line"]) for point in curve] == [
        (midnight(-2), "10.00", "25.00"),
        (midnight(-1), "10.00", "50.00"),
        (midnight(), "15.00", "75.00"),
        (midnight(1), None, "100.00"),
    ]


def test_spend_curve_of_a_flight_longer_than_the_stats_allow_stops_at_the_limit(session):
    campaign = CampaignFactory(start_date=midnight(-1), end_date=midnight(-1) + timedelta(days=5000))
    curve = reporting.spend_curve(session, campaign.id)
    assert len(curve) == reporting.MAX_POINTS


def test_totals_since_a_moment_or_over_all_time(session):
    campaign = CampaignFactory()
    counted(session, campaign, midnight(-1), "impression", 4, Decimal("0.04"))
    counted(session, campaign, midnight(), "impression", 2, Decimal("0.02"))
    counted(session, campaign, midnight(), "complete", 1)
    counted(session, campaign, midnight(), "click", 1)
    today = reporting.totals(session, since=midnight() + timedelta(minutes=30))
    assert today == {
        "impressions": 2,
        "completes": 1,
        "completion_rate": 0.5,
        "clicks": 1,
        "ctr": 0.5,
        "spend": "0.02",
    }
    assert reporting.totals(session)["impressions"] == 6
    assert reporting.totals(session)["spend"] == "0.06"


@pytest.mark.parametrize(
    ("status", "ended", "allowed", "changeable"),
    [
        ("draft", False, ["active", "completed"], True),
        ("active", False, ["paused", "completed"], True),
        ("paused", False, ["active", "completed"], True),
        ("paused", True, ["completed"], True),
        ("completed", False, [], False),
    ],
)
def test_allowed_transitions_follow_change_status(session, status, ended, allowed, changeable):
    end = utcnow() - timedelta(seconds=1) if ended else utcnow() + timedelta(days=1)
    campaign = CampaignFactory(status=status, start_date=end - timedelta(days=3), end_date=end)
    assert campaigns.allowed_transitions(campaign) == allowed
    assert campaigns.accepts_changes(campaign) is changeable


def test_the_campaign_page_shows_errors_by_code_with_their_meaning(console, session):
    campaign = CampaignFactory(start_date=utcnow() - timedelta(days=2))
    counted(session, campaign, midnight(), "error", 3, error_code="402")
    counted(session, campaign, midnight(), "error", 1, error_code="unexpanded")
    counted(session, campaign, midnight(), "error", 2, error_code="1009")
    html = console.page(f"/admin/campaigns/{campaign.id}")
    table = html[html.index('id="error-codes"') : html.index("</table>", html.index('id="error-codes"'))]
    rows = re.findall(
        r'<th scope="row">([^<]+)</th>\s*<td>([^<]+)</td>\s*<td class="num">([^<]+)</td>', table
    )
    assert rows == [
        ("402", "Timeout of MediaFile URI.", "3"),
        ("1009", "Not a VAST error code (the player&#39;s or a vendor&#39;s own).", "2"),
        ("unexpanded", "The player did not replace the [ERRORCODE] macro.", "1"),
    ]


@pytest.mark.parametrize(
    ("budget", "spent", "elapsed_share", "index", "shown"),
    [
        # 0.042 % of the budget spent in 1 % of the flight: 4.2 % of pace (basis points made it 4 %).
        (Decimal("1000000.00"), Decimal("420.00"), 0.01, 0.042, "4.2 %"),
        # A large budget early in its flight: both shares under a basis point (read as 0 % before).
        (Decimal("50000000.00"), Decimal("1234.56"), 0.0001, 0.246912, "24.7 %"),
    ],
)
def test_the_pacing_index_divides_the_exact_shares(session, budget, spent, elapsed_share, index, shown):
    from app.admin.formatting import percent

    start = utcnow().replace(microsecond=0) - timedelta(days=10_000 * elapsed_share)
    campaign = CampaignFactory(budget_total=budget, start_date=start, end_date=start + timedelta(days=10_000))
    counted(session, campaign, midnight(), "impression", 1, spent)
    now = start + timedelta(days=10_000 * elapsed_share)
    pacing = reporting.campaign_figures(session, [campaign], now=now)[campaign.id]["pacing"]
    assert pacing["index"] == pytest.approx(index, rel=1e-6)
    assert percent(pacing["index"]) == shown


@pytest.mark.parametrize(
    ("index", "flag"),
    [(None, None), (0.0, "under"), (0.89, "under"), (0.9, "on_pace"), (1.1, "on_pace"), (1.11, "over")],
)
def test_under_and_over_delivery_flags(index, flag):
    from app.campaigns.pacing import delivery_flag

    assert delivery_flag(index) == flag


def test_charts_mark_the_current_hour_and_scale_spend_to_the_flight_so_far():
    from zoneinfo import ZoneInfo

    from app.admin import charts

    now = midnight() + timedelta(hours=14, minutes=20)
    series = [{"period_start": now.replace(minute=0) - timedelta(hours=n)} for n in (1, 0)]
    for point in series:
        point.update(impressions=1, completes=0)
    labels = charts.campaign_hours(series, ZoneInfo("Asia/Kolkata"), now)["labels"]
    assert labels == ["18:30", "19:30 (now)"]
    curve = [
        {"day": midnight(-1), "spend_to_date": "1.50", "pacing_line": "2.00"},
        {"day": midnight(), "spend_to_date": "3.00", "pacing_line": "4.00"},
        {"day": midnight(1), "spend_to_date": None, "pacing_line": "1000.00"},
    ]
    spend = charts.spend_to_date(curve)
    assert len(spend["labels"]) == 2
    assert max(value for series in spend["series"] for value in series["data"]) == 4.0  # not the budget
