"""Data protection: personal data leaves the database a few days after the appointment.

What stays are the anonymous facts that statistics and the cost settlement between the two
administrations need: home administration, municipality, office, counter, services, vehicles,
times and outcome.
"""

from __future__ import annotations

import datetime as dt
import operator
from functools import reduce

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from appointments.models import EXPIRING_STATUSES, PERSONAL_FIELDS, RELEASED_STATUSES, Appointment, Notification


def erase_client_keys() -> int:
    """The digests of a client's address and network count against its hoarding budget only while
    a hold or an unconfirmed booking waits: erase them from every other appointment at once."""
    return (
        Appointment.objects.exclude(client_address_key="", client_network_key="")
        .exclude(status__in=EXPIRING_STATUSES)
        .update(client_address_key="", client_network_key="")
    )


@transaction.atomic
def erase_personal_data(*, now: dt.datetime) -> int:
    """Erase the personal fields (PERSONAL_FIELDS: name, e-mail, phone, tokens, the clerks' note,
    which may name people) of appointments that ended RETENTION_DAYS ago (or that expired or were
    cancelled that long ago). Returns how many appointments were erased. The client keys of the
    hoarding budget go sooner (erase_client_keys)."""
    erase_client_keys()
    cutoff = now - dt.timedelta(days=settings.RETENTION_DAYS)
    personal = reduce(operator.or_, (~Q(**{field: ""}) for field in PERSONAL_FIELDS))
    due = Appointment.objects.filter(personal).filter(
        Q(end__lt=cutoff) | Q(updated_at__lt=cutoff, status__in=RELEASED_STATUSES)
    )
    ids = list(due.values_list("id", flat=True))
    if not ids:
        return 0
    # A plain update, without a history row: only personal fields change, and the history holds
    # none of them (status, times, office and counter stay as they are).
    Appointment.objects.filter(id__in=ids).update(**dict.fromkeys(PERSONAL_FIELDS, ""))
    Notification.objects.filter(appointment_id__in=ids).update(payload={}, last_error="")
    Notification.objects.filter(appointment_id__in=ids, state=Notification.State.PENDING).update(
        state=Notification.State.DROPPED
    )
    return len(ids)
