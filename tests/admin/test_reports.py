"""The Reports page: the API's report as a table, errors by code in their own columns, the CSV link, and every
form error at once."""

import html
import re
from datetime import UTC, datetime

from tests.factories import CampaignFactory, CreativeFactory
from tests.serving_helpers import ad_urls, flush, get_vast, refresh


def test_the_page_shows_the_reports_rows_with_errors_by_code_and_offers_the_csv(console, app, session, auth):
    campaign = CampaignFactory(name="Shown", status="active")
    CreativeFactory(campaign=campaign, name="Spot A")
    refresh(app)
    for code in ("405", "402"):
        urls = ad_urls(get_vast(console.client))
        console.client.get(urls["impression"])
        console.client.get(urls["error"].replace("405", code))
    flush(app)
    today = datetime.now(UTC).date().isoformat()
    query = f"start={today}&end={today}&granularity=day&group_by=campaign&group_by=creative"
    page = console.page(f"/admin/reports?{query}")
    assert '<a href="/admin/reports" aria-current="page">Reports</a>' in page
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    assert '<td data-label="Campaign">Shown</td>' in body and '<td data-label="Creative">Spot A</td>' in body
    assert 'data-label="Impressions">2</td>' in body
    assert 'data-label="Error 402">1</td>' in body and 'data-label="Error 405">1</td>' in body
    assert 'data-label="Requests"' not in body  # split by campaign: requests are a server-wide total
    link = html.unescape(
        re.search(r'<a class="button secondary" href="([^"]+)" download>Download CSV</a>', page)[1]
    )
    console_csv = console.get(link)
    assert console_csv.status_code == 200 and console_csv.mimetype == "text/csv"
    api_csv = console.client.get(
        f"/api/v1/reports.csv?{query.replace('&group_by=creative', ',creative')}", headers=auth
    )
    assert console_csv.data == api_csv.data
    assert b"errors_402,errors_405" in console_csv.data


def test_unsplit_reports_show_requests_and_fill_rate(console, app, session):
    CreativeFactory(campaign=CampaignFactory(status="active"))
    refresh(app)
    get_vast(console.client)
    flush(app)
    body = console.page("/admin/reports?granularity=hour")  # the last 7 days by default
    assert 'data-label="Requests">1</td>' in body and 'data-label="Fill rate">100.0 %</td>' in body


def test_every_form_error_shows_at_once(console):
    page = console.page("/admin/reports?start=someday&end=2026-03-01&granularity=week&group_by=planet")
    summary = page[page.index('id="form-errors"') : page.index("</ul>", page.index('id="form-errors"'))]
    assert "From: Not a date" in summary
    assert "By: Must be one of: hour, day." in summary
    assert "Split by: Unknown planet" in summary
    assert "Download CSV" not in page and "<table" not in page
    redirected = console.get("/admin/reports.csv?start=someday&end=2026-03-01")
    assert redirected.status_code == 303 and redirected.headers["Location"].startswith("/admin/reports?")
