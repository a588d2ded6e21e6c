"""Settings of the test run (pytest.ini): the portal's settings, with what only tests want.

Processes that the tests start (gunicorn, Celery, `manage.py`) run the production settings module,
`ikz_portal.settings`, and say so in their environment: they are what is tested there.
"""

import os
import secrets

from django.contrib.auth.hashers import PBKDF2PasswordHasher

# Without DEBUG the portal refuses to start without a key. One key per test run, in the environment
# so that the processes the tests start share it (links and sessions made here are valid there).
os.environ.setdefault("SECRET_KEY", f"test-run-{secrets.token_urlsafe(40)}")

from ikz_portal.settings import *  # noqa: F403


class FewRoundsPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """The production hasher's algorithm with one round instead of a million: a login in a test costs
    nothing, and a process started with the production settings still accepts the hashes (PBKDF2
    reads its rounds from the hash; there it upgrades the hash at the first login)."""

    iterations = 1


PASSWORD_HASHERS = ["tests.settings.FewRoundsPBKDF2PasswordHasher"]
