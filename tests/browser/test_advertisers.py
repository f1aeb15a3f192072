"""Advertisers in a real browser: created from their page (after a refused domain), then chosen with a
category in the campaign form."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshots

pytestmark = pytest.mark.xdist_group("browser")  # the same worker, server and browser as test_console


def test_an_advertiser_made_then_chosen_for_a_campaign(page):
    log_in(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Advertisers").click()
    expect(page).to_have_title("Advertisers · CTV ad server admin")
    page.get_by_role("link", name="New advertiser").click()
    page.get_by_label("Name").fill("Browser Cola")
    page.get_by_label("Domain").fill("not a domain")
    page.get_by_role("button", name="Create advertiser").click()
    expect(page.locator("#domain-error")).to_have_text("Must be a domain name such as brand.example.com.")
    screenshots(page, "advertiser-form-errors")
    page.get_by_label("Domain").fill("https://www.Browser-Cola.example/spring")
    page.get_by_role("button", name="Create advertiser").click()
    expect(page.get_by_role("status")).to_have_text(
        "Advertiser “Browser Cola” (browser-cola.example) created."
    )
    row = page.get_by_role("row").filter(has_text="Browser Cola")
    expect(row.locator('[data-label="Domain"]')).to_have_text("browser-cola.example")
    screenshots(page, "advertisers")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill("Browser cola spot")
    page.get_by_label("Budget (required)", exact=True).fill("100")
    page.get_by_label("Start (UTC)").fill("2026-01-01T00:00:00")
    page.get_by_label("End (UTC)").fill("2030-01-01T00:00:00")
    page.get_by_label("Advertiser").select_option(label="Browser Cola (browser-cola.example)")
    page.get_by_label("Category", exact=True).fill("1534")
    page.get_by_label("Exclusive category").check()
    screenshots(page, "campaign-form-advertiser")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("status")).to_have_text("Campaign “Browser cola spot” created as a draft.")
    expect(page.locator("p.advertiser")).to_contain_text("Advertiser: Browser Cola (browser-cola.example)")
    expect(page.locator("p.advertiser")).to_contain_text("Category: 1534 (exclusive)")
