"""The console in a real browser, used with the mouse and the keyboard as an admin would: from a new
campaign to its ad playing in the preview, its beacons counted as test traffic and not on its page."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.creatives.media import MediaError, probe
from app.db import utcnow
from tests import media_files
from tests.browser.conftest import log_in, screenshots
from tests.conftest import ADMIN_EMAIL
from tests.factories import CampaignFactory

pytestmark = pytest.mark.xdist_group("browser")  # one worker: one server and one browser for the folder

QUARTILES = ("starts", "first_quartiles", "midpoints", "third_quartiles", "completes")


def test_a_wrong_password_shows_an_error_and_the_form_works_by_keyboard(page):
    page.goto("/admin/")
    expect(page).to_have_title("Log in · CTV ad server admin")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(ADMIN_EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type("not the password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Email")).to_have_value(ADMIN_EMAIL)
    screenshots(page, "login-refused")


def test_from_a_new_campaign_to_its_preview_counted_as_test_traffic(page, page_problems, tmp_path):
    name = "Browser spring launch"
    log_in(page)
    expect(page).to_have_title("Dashboard · CTV ad server admin")
    screenshots(page, "dashboard")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Budget (required)", exact=True).fill("50.001")
    page.get_by_label("CPM").fill("20")
    page.get_by_label("Start (UTC)").fill((utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_label("End (UTC)").fill((utcnow() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Create campaign").click()
    expect(page.locator("#budget_total-error")).to_have_text("At most 2 decimal places.")
    screenshots(page, "campaign-form-errors")
    page.get_by_label("Budget (required)", exact=True).fill("50.00")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("status")).to_have_text(f"Campaign “{name}” created as a draft.")

    video = media_files.make_mp4(tmp_path / "spot.mp4", seconds=3.0, width=640, height=360)
    upload = page.locator("#upload")
    upload.get_by_label("Name").fill("Spot 3 s")
    upload.get_by_label("Click-through URL").fill("https://brand.example.com/")
    upload.get_by_label("MP4 file").set_input_files(video)
    upload.get_by_role("button", name="Upload").click()
    uploaded = "Creative “Spot 3 s” uploaded: 3.0 s, 640\N{MULTIPLICATION SIGN}360."
    # A small test file: the message goes on to its quality warnings (below the mezzanine advice).
    expect(page.get_by_role("status")).to_contain_text(uploaded)

    page.get_by_role("button", name=f"Activate {name}").click()
    expect(page.get_by_role("status")).to_have_text(f"“{name}” is now active.")
    expect(page.get_by_role("button", name=f"Activate {name}")).to_have_count(0)
    screenshots(page, "campaign")

    page.get_by_role("link", name="Preview", exact=True).click()
    page.get_by_role("button", name="Request an ad and play it").click()
    log = page.locator("#player-log")
    expect(log).to_contain_text("impression beacon sent")
    expect(log).to_contain_text("complete beacon sent", timeout=15_000)
    played = page.locator("#player").evaluate("video => [video.videoWidth, video.currentTime, video.ended]")
    assert played[0] == 640 and played[1] >= 2.9 and played[2]  # the H.264 file really played to its end
    expect(page.locator("#live-impressions")).to_have_text("1")  # counted by the server as test traffic
    expect(page.locator("#live-completes")).to_have_text("1")
    screenshots(page, "preview")
    with page.expect_popup() as advertiser:
        page.get_by_role("button", name="Visit the advertiser").click()
    advertiser.value.close()
    expect(page.locator("#live-clicks")).to_have_text("1")
    # The click beacon answers with a redirect to the landing page; vast-client sends beacons as images,
    # so img-src stops that redirect: the click is counted and the landing page is not fetched twice.
    page_problems[:] = [problem for problem in page_problems if "https://brand.example.com/" not in problem]

    page.get_by_role("link", name="Back to the campaign").click()
    for counter in ("impressions", *QUARTILES, "clicks"):  # test traffic: never in the campaign's figures
        expect(page.locator(f"#count-{counter}")).to_have_text("0")
    screenshots(page, "campaign-counted")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    row = page.get_by_role("row").filter(has_text=name)
    expect(row.locator('[data-label="Impressions"]')).to_have_text("0")
    expect(row.locator('[data-label="Spend"]')).to_have_text("$0.00")
    screenshots(page, "campaigns")


def test_a_refused_upload_shows_the_servers_message(page, live_server, tmp_path):
    campaign_id = live_server.create(CampaignFactory, name="Refusals", status="draft")
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_text("meeting notes, not a video")
    with pytest.raises(MediaError) as refusal:
        probe(not_a_video, 120)
    log_in(page)
    page.goto(f"/admin/campaigns/{campaign_id}")
    upload = page.locator("#upload")
    upload.get_by_label("Name").fill("Wrong file")
    upload.get_by_label("MP4 file").set_input_files(not_a_video)
    upload.get_by_role("button", name="Upload").click()
    expect(page.locator("#file-error")).to_have_text(str(refusal.value))
    expect(page.locator("#form-errors")).to_be_focused()
    expect(page.locator("#upload").get_by_label("Name")).to_have_value("Wrong file")
    screenshots(page, "upload-refused")

    page.get_by_role("link", name="Delete", exact=True).click()
    expect(page).to_have_title("Delete “Refusals”? · CTV ad server admin")
    screenshots(page, "delete-confirmation")
    page.get_by_role("button", name="Delete campaign").click()
    expect(page.get_by_role("status")).to_have_text("Campaign “Refusals” deleted.")


def test_a_post_without_the_csrf_token_is_refused(page):
    log_in(page)
    page.goto("/admin/campaigns/new")
    page.locator("form.form input[name=csrf_token]").evaluate("field => field.remove()")
    page.get_by_label("Name").fill("Forged")
    page.get_by_role("button", name="Create campaign").click()
    expect(page).to_have_title("Error 400 · CTV ad server admin")
    expect(page.get_by_role("alert")).to_contain_text("The CSRF token is missing.")
    screenshots(page, "csrf-refused")
