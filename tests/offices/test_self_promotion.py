"""An administrator of an administration manages other accounts' memberships, never their own: giving
oneself an office or the office lead role needs a superuser.

Persona: Rita, administrator of the Rhein-Pfalz-Kreis (as in test_staff_management), also a clerk
at Schifferstadt.
"""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from offices.models import Membership
from tests.offices.test_staff_management import ADD, administrator, change_url, membership_data


@pytest.fixture
def rita(demo):
    client = administrator("rita-rpk", demo.rpk)
    user = get_user_model().objects.get(username="rita-rpk")
    Membership.objects.create(user=user, office=demo.schifferstadt, role=Membership.Role.CLERK)
    return client, user


def test_an_administrator_cannot_make_herself_office_lead(rita, demo):
    client, user = rita
    own = Membership.objects.get(user=user)
    client.post(change_url(own), membership_data(user, demo.schifferstadt, role="office_lead"))
    own.refresh_from_db()
    assert own.role == Membership.Role.CLERK
    assert client.get(change_url(own)).status_code in (200, 403)  # at most a read-only view


def test_an_administrator_cannot_add_herself_to_an_office(rita, demo):
    client, user = rita
    Membership.objects.filter(user=user).delete()
    response = client.post(ADD, membership_data(user, demo.schifferstadt, role="office_lead"))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Membership.objects.filter(user=user).exists()


def test_an_administrator_cannot_delete_her_own_membership(rita):
    client, user = rita
    own = Membership.objects.get(user=user)
    client.post(reverse("admin:offices_membership_delete", args=[own.pk]), {"post": "yes"})
    assert Membership.objects.filter(pk=own.pk).exists()


def test_a_superuser_makes_her_office_lead(rita, demo):
    _client, user = rita
    own = Membership.objects.get(user=user)
    admin = Client(headers={"accept-language": "en"})
    admin.force_login(get_user_model().objects.get(username="admin"))
    assert admin.post(change_url(own), membership_data(user, demo.schifferstadt, role="office_lead")).status_code == 302
    own.refresh_from_db()
    assert own.role == Membership.Role.OFFICE_LEAD
