"""The Reports page in a real browser: the form, the table with errors by code, the CSV it offers, and the
form's errors; screenshots at 1280 and 390 px."""

import csv
import io
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.tracking.models import EventCountHourly, ServedAdHourly
from tests.browser.conftest import log_in, screenshots
from tests.factories import CampaignFactory

pytestmark = pytest.mark.xdist_group("browser")  # one worker: one server and one browser for the folder

DAY = "2026-02-02"  # a day no other browser test counts anything on


def stored_counts(live_server, campaign_id) -> None:
    hour = datetime(2026, 2, 2, 10, tzinfo=UTC)
    creative = uuid.uuid4()
    rows = [("impression", "", 3, 3 * 200_000), ("complete", "", 2, 0), ("error", "405", 1, 0)]
    rows.append(("error", "303", 2, 0))
    with live_server.app.extensions["database"].sessions() as session:
        for event, code, count, spend in rows:
            session.add(
                EventCountHourly(
                    hour=hour,
                    campaign_id=campaign_id,
                    creative_id=creative,
                    event=event,
                    error_code=code,
                    count=count,
                    spend_units=spend,
                )
            )
        session.add(ServedAdHourly(hour=hour, campaign_id=campaign_id, creative_id=creative, ads=4))
        session.commit()


def test_the_reports_page_its_errors_by_code_and_its_csv(page, live_server):
    campaign_id = live_server.create(CampaignFactory, name="Reported campaign", status="active")
    stored_counts(live_server, campaign_id)
    log_in(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page).to_have_title("Reports · CTV ad server admin")
    page.get_by_label("From (local day)").fill(DAY)
    page.get_by_label("To (local day, included)").fill(DAY)
    page.get_by_label("By").select_option("hour")
    page.get_by_label("Campaign").check()
    page.get_by_role("button", name="Show report").click()

    row = page.get_by_role("row").filter(has_text="Reported campaign")
    expect(row.locator('[data-label="Fills"]')).to_have_text("4")
    expect(row.locator('[data-label="Impressions"]')).to_have_text("3")
    expect(row.locator('[data-label="Render rate"]')).to_have_text("75.0 %")
    expect(row.locator('[data-label="Spend"]')).to_have_text("$0.06")
    expect(row.locator('[data-label="eCPM"]')).to_have_text("$20.00")
    expect(row.locator('[data-label="Error 303"]')).to_have_text("2")
    expect(row.locator('[data-label="Error 405"]')).to_have_text("1")
    expect(page.get_by_role("row").first).not_to_contain_text("Requests")  # split by campaign
    screenshots(page, "reports")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    lines = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [
        (line["campaign_name"], line["impressions"], line["errors_303"], line["errors_405"]) for line in lines
    ] == [("Reported campaign", "3", "2", "1")]
    assert lines[0]["period_start"] == f"{DAY}T10:00:00+00:00" and lines[0]["spend"] == "0.06"

    page.get_by_label("From (local day)").fill("2026-02-10")
    page.get_by_role("button", name="Show report").click()
    expect(page.get_by_role("alert")).to_contain_text("To: Must be on or after start.")
    expect(page.get_by_role("link", name="Download CSV")).to_have_count(0)
    screenshots(page, "reports-errors")
