"""What every page's head gives browsers and search engines: an icon that exists, and a description of the page."""
from __future__ import annotations

import re

import pytest

from tests.factories import make_counselor


@pytest.fixture
def counselor(app):
    with app.app_context():
        return make_counselor(name="Robin Vale", slug="robin-vale").slug


def _descriptions(html: str) -> list[str]:
    return re.findall(r'<meta name="description" content="([^"]*)">', html)


def test_the_icon_linked_from_pages_and_asked_for_at_the_root_is_served(client):
    page = client.get("/").get_data(as_text=True)
    linked = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert linked, "the home page links no icon"
    for url in (linked.group(1), "/favicon.ico"):
        with client.get(url) as response:  # a file response: closed, or its file stays open
            assert response.status_code == 200, url
            assert response.mimetype == "image/svg+xml"
            assert response.get_data(as_text=True).startswith("<svg")


def test_each_public_page_has_one_description_of_its_own(client, counselor):
    pages = {"/": None, "/counselors": "Find a counselor", f"/counselors/{counselor}": "Robin Vale"}
    seen = set()
    for url, mentions in pages.items():
        found = _descriptions(client.get(url).get_data(as_text=True))
        assert len(found) == 1 and found[0].strip(), url
        if mentions:
            assert mentions in found[0], url
        seen.add(found[0])
    assert len(seen) == len(pages)  # not one text pasted on every page


def test_form_fields_without_hint_or_error_carry_no_empty_aria_describedby(client, counselor):
    for url in ("/staff/login", "/bookings/resend", f"/counselors/{counselor}"):
        html = client.get(url).get_data(as_text=True)
        assert 'aria-describedby=""' not in html, url
