"""Error pages (404, 403, 500) in the MSA layout with a way back, not Django's bare page."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.views import defaults

from msa.accounts.models import User


@pytest.mark.django_db
def test_a_missing_page_is_in_the_layout_with_a_way_back(demo: None, client: Client) -> None:
    client.force_login(User.objects.get(username="operator"))
    response = client.get("/console/incidents/GNT-1999-99999/")
    assert response.status_code == 404
    page = response.content.decode()
    assert 'id="error-404"' in page
    assert 'class="topbar"' in page
    assert 'id="error-back"' in page
    assert "signed in as" in page


@pytest.mark.django_db
def test_forbidden_and_server_error_pages_are_in_the_layout(demo: None, rf: RequestFactory) -> None:
    request = rf.get("/somewhere/")
    request.user = User.objects.get(username="operator")
    forbidden = defaults.permission_denied(request, PermissionDenied())
    assert forbidden.status_code == 403
    assert 'id="error-403"' in forbidden.content.decode()
    # the 500 page renders without a request context (the failure may be in it)
    error = defaults.server_error(request)
    assert error.status_code == 500
    page = error.content.decode()
    assert 'id="error-500"' in page
    assert 'href="/"' in page
    assert 'class="topbar"' in page
