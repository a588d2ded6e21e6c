"""The captcha before a hold: ALTCHA's self-hosted proof of work, and a question for browsers
without JavaScript.

ALTCHA (PoW v2, "deterministic mode"): the server picks a random counter, derives a PBKDF2 key from
it, and sends a challenge with the key's prefix, an expiry and an HMAC signature; the browser's
widget tries counters until it finds the key (a few seconds of work), and sends the payload along
with the form. Verifying costs the server one HMAC: it checks its own signature on the challenge and
on the derived key. No third party is asked, nothing is stored in the browser.

The HMAC keys are derived from SECRET_KEY. Each solution counts once: a verified challenge is
remembered in the database (SpentCaptcha, not in Redis, which may be down or restarted empty)
until it expires, so one solved challenge cannot place a hundred holds.

Without JavaScript the widget cannot work. The calendar's slot forms then carry a flag from a
<noscript> block, and the hold view answers with a small arithmetic question (signed, expiring,
usable once) before it places the hold. A program reads such a question easily, so what makes this
path cost a bot as much as the proof of work is time, not the sum: the signed token carries the
moment it was issued, and an answer counts only after CAPTCHA_NOJS_WAIT_SECONDS (a person reads the
page meanwhile); and answers on this path have their own, lower rate limit per client address
(RATE_LIMIT_NOJS, in the view).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets

import altcha
from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils.crypto import salted_hmac

from appointments.models import SpentCaptcha
from ikz_portal import clock

ALGORITHM = "PBKDF2/SHA-256"
# The browser tries counters from 0 up: on average 3,500 derivations of CAPTCHA_COST rounds, about
# three to four seconds on a two-core machine. ALTCHA suggests 5,000–10,000; citizens with old phones
# would wait twice as long, and the rate limits carry the rest of the load.
COUNTER_RANGE = (2_000, 5_000)
# A real payload is well under 1,000 characters; anything much longer is not one.
PAYLOAD_MAX = 4_000
QUESTION_SALT = "appointments.security.captcha.question"


def enabled() -> bool:
    return settings.CAPTCHA_ENABLED


def _secret(purpose: str) -> str:
    return salted_hmac(f"appointments.security.captcha.{purpose}", "", algorithm="sha256").hexdigest()


def expiry_seconds() -> int:
    return max(60, settings.CAPTCHA_EXPIRE_MINUTES * 60)


def new_challenge() -> dict:
    """A signed challenge for the widget (the JSON of /captcha/challenge/)."""
    challenge = altcha.create_challenge(
        ALGORITHM,
        settings.CAPTCHA_COST,
        counter=secrets.choice(range(*COUNTER_RANGE)),
        expires_at=int(clock.timestamp()) + expiry_seconds(),
        hmac_secret=_secret("challenge"),
        hmac_key_secret=_secret("key"),
    )
    return challenge.to_dict()


def _use_once(kind: str, identity: str, expires_at: float) -> bool:
    """True the first time `identity` is used; later uses (until it expires anyway) are refused.
    The unique digest decides: of two requests with one solution, one insert wins."""
    digest = hashlib.sha256(f"{kind}:{identity}".encode()).hexdigest()
    until = dt.datetime.fromtimestamp(max(expires_at, clock.timestamp()) + 5, tz=dt.UTC)
    try:
        with transaction.atomic():
            SpentCaptcha.objects.create(digest=digest, expires_at=until)
    except IntegrityError:
        return False
    return True


def forget_expired(*, now: dt.datetime) -> int:
    """Delete the spent solutions whose challenges have expired (the sweep calls it)."""
    deleted, _by_model = SpentCaptcha.objects.filter(expires_at__lt=now).delete()
    return deleted


def verify_payload(payload) -> bool:
    """True for a correct, unexpired solution of one of our challenges that was not used before."""
    if not isinstance(payload, str) or not payload or len(payload) > PAYLOAD_MAX:
        return False
    try:
        parsed = altcha.Payload.from_base64(payload)
        result = altcha.verify_solution(parsed, _secret("challenge"), hmac_key_secret=_secret("key"))
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError):
        # Not base64, not JSON, not the payload's shape: a client's garbage, not a server error.
        return False
    if not result.verified or not parsed.challenge.parameters.key_signature:
        # Only challenges with a signed key are ours (deterministic mode); never fall back to
        # deriving a key with whatever cost a client claims.
        return False
    expires_at = parsed.challenge.parameters.expires_at
    if not isinstance(expires_at, (int, float)):
        return False
    return _use_once("pow", str(parsed.challenge.signature), expires_at)


# --- the question for browsers without JavaScript -----------------------------------------------


def wait_seconds() -> int:
    """How long after a question was issued its answer counts (never so long that it expires first)."""
    return max(0, min(settings.CAPTCHA_NOJS_WAIT_SECONDS, expiry_seconds() - 60))


def new_question() -> dict:
    """Two small numbers to add, and a signed token that carries them and the moment it was issued
    (it is only as secret as the question on the page)."""
    first, second = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    issued = int(clock.timestamp())
    token = signing.dumps({"a": first, "b": second, "t": issued, "n": secrets.token_hex(8)}, salt=QUESTION_SALT)
    return {"first": first, "second": second, "token": token, "issued": issued}


def read_question(token) -> dict | None:
    """The question behind a token of ours that has not expired (as new_question gave it), else None."""
    if not isinstance(token, str) or len(token) > 500:
        return None
    try:
        data = signing.loads(token, salt=QUESTION_SALT, max_age=expiry_seconds())
        return {
            "first": int(data["a"]),
            "second": int(data["b"]),
            "token": token,
            "issued": int(data["t"]),
            "nonce": str(data["n"]),
        }
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def seconds_to_wait(question: dict) -> int:
    """The seconds until an answer to `question` counts; 0 once the wait is over."""
    return max(0, math.ceil(question["issued"] + wait_seconds() - clock.timestamp()))


def verify_answer(token, answer) -> bool:
    """True for the right sum of an unexpired question, answered after the wait and not before."""
    question = read_question(token)
    if question is None or not isinstance(answer, str) or seconds_to_wait(question) > 0:
        return False
    answer = answer.strip()
    expected = question["first"] + question["second"]
    if not (answer.isascii() and answer.isdigit() and len(answer) <= 3) or int(answer) != expected:
        return False
    return _use_once("question", question["nonce"], clock.timestamp() + expiry_seconds())
