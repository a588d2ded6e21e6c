"""Staff management in the admin: an administrator of an administration manages the memberships of
that administration's offices and not the partner's.

Personas: Rita, administrator of the Rhein-Pfalz-Kreis (office Schifferstadt), and Frank, administrator
of the Stadt Frankenthal, each a staff account with the usual membership permissions and an
AdministrationManager link; the demo clerks of both offices; the demo superuser.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from offices.models import AdministrationManager, Membership

MEMBERSHIP_PERMISSIONS = ["view_membership", "add_membership", "change_membership", "delete_membership", "view_user"]


def administrator(username, administration=None):
    user = get_user_model().objects.create_user(username, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=MEMBERSHIP_PERMISSIONS))
    if administration is not None:
        AdministrationManager.objects.create(user=user, administration=administration)
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def staff(demo):
    User = get_user_model()
    return {
        "rita": administrator("rita-rpk", demo.rpk),
        "frank": administrator("frank-ft", demo.ft),
        "nobody": administrator("no-administration"),
        "schifferstadt_clerk": Membership.objects.get(user__username="clerk-schifferstadt"),
        "frankenthal_clerk": Membership.objects.get(user__username="clerk-frankenthal"),
        "newcomer": User.objects.create_user("new-clerk", is_staff=True),
    }


LIST = reverse("admin:offices_membership_changelist")
ADD = reverse("admin:offices_membership_add")


def change_url(membership):
    return reverse("admin:offices_membership_change", args=[membership.pk])


def membership_data(user, office, role="clerk"):
    return {"user": user.pk, "office": office.pk, "role": role, "_save": "Save"}


def test_the_list_shows_only_the_own_administrations_memberships(staff):
    page = staff["rita"].get(LIST).content.decode()
    assert "clerk-schifferstadt" in page and "clerk-frankenthal" not in page
    page = staff["frank"].get(LIST).content.decode()
    assert "clerk-frankenthal" in page and "clerk-schifferstadt" not in page


def test_the_office_choices_are_the_own_administrations_offices(staff, demo):
    form = staff["rita"].get(ADD).context["adminform"].form
    assert list(form.fields["office"].queryset) == [demo.schifferstadt]


def test_an_administrator_adds_a_clerk_to_an_own_office(staff, demo):
    response = staff["rita"].post(ADD, membership_data(staff["newcomer"], demo.schifferstadt))
    assert response.status_code == 302
    assert Membership.objects.filter(user=staff["newcomer"], office=demo.schifferstadt).exists()


def test_an_administrator_cannot_add_a_clerk_to_the_partners_office(staff, demo):
    response = staff["rita"].post(ADD, membership_data(staff["newcomer"], demo.frankenthal))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Membership.objects.filter(user=staff["newcomer"]).exists()


def test_an_administrator_cannot_change_or_delete_the_partners_memberships(staff, demo):
    """Frankenthal's clerk stays as they are, whatever Rita sends."""
    theirs = staff["frankenthal_clerk"]
    rita = staff["rita"]

    assert rita.get(change_url(theirs)).status_code != 200
    rita.post(change_url(theirs), membership_data(theirs.user, demo.frankenthal, role="office_lead"))
    rita.post(change_url(theirs), membership_data(theirs.user, demo.schifferstadt))
    rita.post(reverse("admin:offices_membership_delete", args=[theirs.pk]), {"post": "yes"})
    rita.post(LIST, {"action": "delete_selected", "_selected_action": [theirs.pk], "post": "yes"})

    theirs.refresh_from_db()
    assert (theirs.office, theirs.role) == (demo.frankenthal, Membership.Role.CLERK)


def test_an_administrator_cannot_move_an_own_membership_to_the_partner(staff, demo):
    ours = staff["schifferstadt_clerk"]
    response = staff["rita"].post(change_url(ours), membership_data(ours.user, demo.frankenthal))
    assert response.status_code == 200
    ours.refresh_from_db()
    assert ours.office == demo.schifferstadt


def test_an_administrator_changes_and_deletes_own_memberships(staff, demo):
    ours = staff["schifferstadt_clerk"]
    rita = staff["rita"]
    assert (
        rita.post(change_url(ours), membership_data(ours.user, demo.schifferstadt, role="office_lead")).status_code
        == 302
    )
    ours.refresh_from_db()
    assert ours.role == Membership.Role.OFFICE_LEAD

    assert rita.post(reverse("admin:offices_membership_delete", args=[ours.pk]), {"post": "yes"}).status_code == 302
    assert not Membership.objects.filter(pk=ours.pk).exists()


def test_staff_without_an_administration_manage_no_memberships(staff, demo):
    """The model permissions alone are not enough: they need an administration to manage."""
    nobody = staff["nobody"]
    page = nobody.get(LIST).content.decode()
    assert "clerk-schifferstadt" not in page and "clerk-frankenthal" not in page
    assert nobody.get(ADD).status_code == 403
    assert nobody.post(ADD, membership_data(staff["newcomer"], demo.schifferstadt)).status_code == 403
    assert not Membership.objects.filter(user=staff["newcomer"]).exists()


def test_only_superusers_assign_administrators(staff, demo):
    """Rita cannot make herself administrator of Frankenthal."""
    url = reverse("admin:offices_administrationmanager_add")
    rita = get_user_model().objects.get(username="rita-rpk")
    response = staff["rita"].post(url, {"user": rita.pk, "administration": demo.ft.pk, "_save": "Save"})
    assert response.status_code == 403
    assert not AdministrationManager.objects.filter(user=rita, administration=demo.ft).exists()


def test_a_superuser_manages_every_membership(demo):
    admin = Client(headers={"accept-language": "en"})
    admin.force_login(get_user_model().objects.get(username="admin"))
    page = admin.get(LIST).content.decode()
    assert "clerk-schifferstadt" in page and "clerk-frankenthal" in page
