"""After sign-in each member of staff lands where their work is."""

from __future__ import annotations

import pytest
from django.test import Client

from msa.accounts.models import User


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("username", "target"),
    [
        ("operator", "/console/"),
        ("supervisor", "/console/"),
        ("patrol", "/unit/"),
        ("reference", "/cases/"),
        ("magistrate", "/cases/"),
        ("counsellor", "/cases/"),
        ("admin", "/audit/"),
    ],
)
def test_landing_by_role(demo: None, client: Client, username: str, target: str) -> None:
    client.force_login(User.objects.get(username=username))
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, target)
    assert client.get(target).status_code == 200


@pytest.mark.django_db
def test_a_role_without_pages_gets_a_page_that_says_so(demo: None, client: Client) -> None:
    client.force_login(User.objects.get(username="analyst"))
    response = client.get("/")
    assert response.status_code == 200
    assert "no pages" in response.content.decode()


@pytest.mark.django_db
def test_the_menu_shows_what_the_role_may_open(demo: None, client: Client) -> None:
    client.force_login(User.objects.get(username="supervisor"))
    html = client.get("/console/").content.decode()
    assert 'href="/cases/"' in html
    assert 'href="/unit/"' not in html
