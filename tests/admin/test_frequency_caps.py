"""Frequency caps in the console: one rule a line on the campaign and advertiser forms, shown in words on the
campaign page, refused in plain words by the textarea."""

import pytest
import sqlalchemy as sa

from app.advertisers.models import Advertiser
from app.campaigns.models import Campaign
from tests.admin.test_campaigns import FORM
from tests.factories import AdvertiserFactory, CampaignFactory

DAY = {"max_impressions": 3, "window": {"unit": "day", "count": 1}}
TWO_HOURS = {"max_impressions": 1, "window": {"unit": "hour", "count": 2}}


def test_a_campaign_is_created_with_its_rules_and_shows_them(console, session):
    cola = AdvertiserFactory(name="Cola", frequency_caps=[{"max_impressions": 5, "window": {"unit": "week"}}])
    form = FORM | {"advertiser_id": str(cola.id), "frequency_caps": "3 per day\r\n\r\n1 per 2 hours\r\n"}
    response = console.post("/admin/campaigns/new", form)
    assert response.status_code == 303
    campaign = session.scalar(sa.select(Campaign))
    assert campaign.frequency_caps == [DAY, TWO_HOURS]
    page = console.page(response.headers["Location"])
    assert "Frequency caps: 3 per day, 1 per 2 hours; the advertiser's: 5 per week" in page


def test_editing_shows_the_rules_one_a_line_and_an_empty_box_clears_them(console, session):
    campaign = CampaignFactory(frequency_caps=[DAY, TWO_HOURS])
    page = console.page(f"/admin/campaigns/{campaign.id}/edit")
    assert ">3 per day\n1 per 2 hours</textarea>" in page
    form = {
        "name": campaign.name,
        "budget_total": "1000.00",
        "start_date": campaign.start_date.strftime("%Y-%m-%dT%H:%M:%S"),
        "end_date": campaign.end_date.strftime("%Y-%m-%dT%H:%M:%S"),
        "frequency_caps": "",
    }
    assert console.post(f"/admin/campaigns/{campaign.id}/edit", form).status_code == 303
    session.refresh(campaign)
    assert campaign.frequency_caps == []
    assert "Frequency caps: none" in console.page(f"/admin/campaigns/{campaign.id}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3 a day", "Line 1 (&#34;3 a day&#34;) is not a rule such as &#34;3 per day&#34;"),
        ("1 per hour\n3 per 200 days", "Rule 2: A window is 180 days at most: at most 180 days."),
        ("3 per fortnight", "Rule 1: Must be one of: minute, hour, day, week, flight."),
        ("0 per day", "Rule 1: Must be greater than or equal to 1"),
        ("3 per day\n4 per day", "Two rules have the same window"),
    ],
)
def test_a_bad_rule_is_refused_in_plain_words_by_the_box(console, session, text, message):
    response = console.post("/admin/campaigns/new", FORM | {"frequency_caps": text})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error = page.split('<p class="error" id="frequency_caps-error">')[1].split("</p>")[0]
    assert message in error
    assert '<li><a href="#frequency_caps">Frequency caps: ' in page
    assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0


def test_an_advertiser_form_takes_rules_but_no_flight(console, session):
    form = {"name": "Cola", "domain": "cola.example", "frequency_caps": "2 per week"}
    assert console.post("/admin/advertisers/new", form).status_code == 303
    advertiser = session.scalar(sa.select(Advertiser))
    assert advertiser.frequency_caps == [{"max_impressions": 2, "window": {"unit": "week", "count": 1}}]
    page = console.page(f"/admin/advertisers/{advertiser.id}/edit")
    assert ">2 per week</textarea>" in page
    refused = console.post(
        f"/admin/advertisers/{advertiser.id}/edit", form | {"frequency_caps": "1 per flight"}
    )
    assert refused.status_code == 400
    assert "Rule 1: Must be one of: minute, hour, day, week (no flight)." in refused.get_data(as_text=True)
    session.refresh(advertiser)
    assert advertiser.frequency_caps[0]["window"]["unit"] == "week"
