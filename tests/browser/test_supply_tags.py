"""Supply tags in a real browser: created from their page (after refused values), its page with the
ready-to-paste URL and its Copy button, the list, then chosen in the campaign form to limit a campaign."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshots

pytestmark = pytest.mark.xdist_group("browser")  # the same worker, server and browser as test_console


def test_a_supply_tag_made_copied_and_chosen_for_a_campaign(page):
    log_in(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Supply tags").click()
    expect(page).to_have_title("Supply tags · CTV ad server admin")
    page.get_by_role("link", name="New supply tag").click()
    page.get_by_label("Name").fill("Browser Roku app")
    page.get_by_label("Platform").select_option(label="Roku (RAF)")
    page.get_by_label("Shortest ad (seconds)").fill("40")
    page.get_by_label("Longest ad (seconds)").fill("30")
    page.get_by_label("Most ads in a break").fill("99")
    page.get_by_role("button", name="Create supply tag").click()
    expect(page.locator("#min_duration-error")).to_have_text("Must not be above max_duration.")
    expect(page.locator("#pod_max_ads-error")).to_contain_text("less than or equal to 20")
    screenshots(page, "supply-tag-form-errors")
    page.get_by_label("Shortest ad (seconds)").fill("")
    page.get_by_label("Most ads in a break").fill("3")
    page.get_by_label("Macros").fill("app_name=[APP]")
    page.get_by_role("button", name="Create supply tag").click()
    expect(page.get_by_role("status")).to_have_text(
        "Supply tag “Browser Roku app” created: paste its VAST URL into the platform."
    )
    url = page.get_by_label("VAST URL of Browser Roku app")
    expect(url).to_have_value(re.compile(r"/vast\?tag=\d+&cb=ROKU_ADS_CACHE_BUSTER&.*&app_name=\[APP\]"))
    page.get_by_role("button", name="Copy").click()
    expect(page.locator(".copy-status")).to_have_text(re.compile("Copied.|Selected: press Ctrl"))
    expect(page.get_by_role("heading", name="Last 24 hours")).to_be_visible()
    screenshots(page, "supply-tag")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Supply tags").click()
    row = page.get_by_role("row").filter(has_text="Browser Roku app")
    expect(row.locator('[data-label="Platform"]')).to_have_text("Roku (RAF)")
    screenshots(page, "supply-tags")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill("Roku only spot")
    page.get_by_label("Budget (required)", exact=True).fill("100")
    page.get_by_label("Start (UTC)").fill("2026-01-01T00:00:00")
    page.get_by_label("End (UTC)").fill("2030-01-01T00:00:00")
    page.get_by_label(re.compile("^Browser Roku app")).check()
    screenshots(page, "campaign-form-supply-tags")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("status")).to_have_text("Campaign “Roku only spot” created as a draft.")
    expect(page.get_by_text(re.compile(r"supply_tag: include Browser Roku app \(#\d+\)"))).to_be_visible()
