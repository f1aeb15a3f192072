"""Safe operations in a real browser: a creative previewed in one request as test traffic, the audit log on
the campaign page, Complete and Archive behind their questions, and the console's 404 page."""

import pytest
from playwright.sync_api import expect

from tests import media_files
from tests.browser.conftest import log_in, screenshots
from tests.factories import CampaignFactory

pytestmark = pytest.mark.xdist_group("browser")


def test_preview_audit_complete_archive_and_not_found(page, live_server, tmp_path):
    name = "Safe launch"
    campaign_id = live_server.create(CampaignFactory, name=name, status="draft")
    log_in(page)
    page.goto(f"/admin/campaigns/{campaign_id}")
    video = media_files.make_mp4(tmp_path / "spot.mp4", seconds=2.0, width=640, height=360)
    upload = page.locator("#upload")
    upload.get_by_label("Name").fill("Spot 2 s")
    upload.get_by_label("MP4 file").set_input_files(video)
    upload.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_contain_text("Creative “Spot 2 s” uploaded")
    expect(page.locator("video")).to_have_count(0)  # a card shows a poster, never a video

    # A draft's creative plays at once: one /vast request, its beacons counted apart.
    page.get_by_role("link", name="Preview Spot 2 s").click()
    page.get_by_role("button", name="Request an ad and play it").click()
    log = page.locator("#player-log")
    expect(log).to_contain_text("(test traffic)")
    expect(log).to_contain_text("complete beacon sent", timeout=15_000)
    assert log.locator("li", has_text="GET /vast").count() == 1
    expect(page.locator("#live-impressions")).to_have_text("1")
    expect(page.locator("#live-completes")).to_have_text("1")
    screenshots(page, "preview-test-traffic")

    page.get_by_role("link", name="Back to the campaign").click()
    expect(page.locator("#count-impressions")).to_have_text("0")
    page.get_by_role("button", name=f"Activate {name}").click()
    audit = page.locator("#audit")
    expect(audit.get_by_role("row")).to_have_count(3)  # header, the activation, the upload
    expect(audit.get_by_role("row").nth(1)).to_contain_text("draft → active")
    expect(audit.get_by_role("row").nth(2)).to_contain_text("creative “Spot 2 s”")
    audit.scroll_into_view_if_needed()
    screenshots(page, "audit-log")

    page.get_by_role("link", name=f"Complete {name}").click()
    expect(page).to_have_title(f"Complete “{name}”? · CTV ad server admin")
    screenshots(page, "complete-confirmation")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("active")
    page.get_by_role("link", name=f"Complete {name}").click()
    page.get_by_role("button", name="Complete campaign").click()
    expect(page.get_by_role("status")).to_have_text(f"“{name}” is now completed.")

    page.get_by_role("link", name="Archive…", exact=True).click()
    expect(page).to_have_title(f"Archive “{name}”? · CTV ad server admin")
    page.get_by_role("button", name="Archive campaign").click()
    expect(page.get_by_role("status")).to_have_text(f"Campaign “{name}” archived.")
    expect(page.locator("h1 .status-archived")).to_have_text("archived")
    screenshots(page, "archived")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    expect(page.get_by_role("row").filter(has_text=name)).to_have_count(0)
    page.get_by_role("link", name="Archived").click()
    expect(page.get_by_role("row").filter(has_text=name)).to_have_count(1)

    page.goto("/admin/no-such-page")
    expect(page).to_have_title("Not found · CTV ad server admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("404: not found")
    screenshots(page, "not-found")
    page.goto("/")
    expect(page).to_have_title("Dashboard · CTV ad server admin")
