"""Phone numbers are read in the country of the organisation they belong to (a zone's
``country``; the deployment's ``MSA_COUNTRY`` for the SMS gateway's senders), not a hard-coded
Belgium, so that another member state can run MSA."""

from __future__ import annotations

import pytest

from msa.accounts.models import Organisation
from msa.cases.phones import normalise_phone
from msa.cases.tests.factories import new_case
from msa.core.errors import ValidationError


def test_a_national_number_is_read_in_the_given_country() -> None:
    assert normalise_phone("0470 00 01 01", region="BE") == "+32470000101"
    assert normalise_phone("06 12345678", region="NL") == "+31612345678"
    assert normalise_phone("0151 23456789", region="de") == "+4915123456789"
    # an international number is the same in every country
    assert normalise_phone("+32 470 00 01 01", region="NL") == "+32470000101"
    with pytest.raises(ValidationError):
        normalise_phone("12", region="BE")


def test_a_case_reads_its_numbers_in_its_zones_country(demo: None) -> None:
    Organisation.objects.filter(code="GNT").update(country="NL")
    case = new_case("GNT", number=7)  # the victim's number is written 0470 00 09 07
    assert case.victim.phone_number == "+31470000907"
    Organisation.objects.filter(code="GNT").update(country="BE")
    case = new_case("GNT", number=8)
    assert case.victim.phone_number == "+32470000908"
