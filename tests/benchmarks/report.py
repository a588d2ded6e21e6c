"""The results as Markdown: the tables and the targets of issue 8, each marked met or missed."""

from __future__ import annotations

import math


def _ms(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _yes(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} s"


CPU_PARTS = ("web", "workers", "postgres", "redis", "client")
QUIET_LOAD = 1.0  # a load average (1 min) above this at the start: the machine was not quiet
REST_SHARE = 1 / 3  # more of the machine's CPU than this outside the benchmark's processes: not quiet


def rest_ms(cpu: dict) -> float:
    return cpu["machine"] - sum(cpu[p] for p in CPU_PARTS)


def baseline(run, crowd) -> dict:
    """The trivial view a crowd is compared with: its own, measured just before it."""
    return getattr(crowd, "trivial", None) or run.trivial


def quiet_machine_warning(info: dict, crowds) -> list[str]:
    """A warning when the machine was not quiet: the load average at the start above 1.0, or
    phases in which more than a third of the machine's CPU went to something else than the
    benchmark's processes (other processes; the kernel's loopback traffic is part of it too)."""
    reasons = []
    first = float(info["load_before"].split()[0])
    if first > QUIET_LOAD:
        reasons.append(
            f"The load average (1 minute) was {first:.2f} at the start, above {QUIET_LOAD:.1f}: other "
            "processes were running."
        )
    busy = [
        (c.name, phase.name, rest_ms(phase.cpu) / phase.cpu["machine"])
        for c in crowds
        for phase in getattr(c, "phases", [])
        if phase.cpu["machine"] > 0 and rest_ms(phase.cpu) / phase.cpu["machine"] > REST_SHARE
    ]
    if busy:
        named = "; ".join(f"{run}, {phase}: {share:.0%}" for run, phase, share in busy)
        reasons.append(f"More than a third of the machine's CPU went to processes outside the benchmark ({named}).")
    if not reasons:
        return []
    return [
        "**Warning: the machine was not quiet.** "
        + " ".join(reasons)
        + " They shared the cores with the benchmark: its latencies and requests per second are worse "
        "than on a quiet machine and do not compare with a quiet run's.",
        "",
    ]


def targets(availability, crowds):
    from .run import (
        CROWD_P95_MS,
        CROWD_SHARE_OF_TRIVIAL,
        MEMORY_MB,
        POOL_P95_MS,
        SEARCH_P95_MS,
        SEARCH_SHARE_OF_TRIVIAL,
        STATE_FLOOR_FACTOR,
    )

    rows = []
    for c in crowds:
        for crowd in getattr(c, "searches", []):
            if crowd.name == "search":
                for kind, k in crowd.by_kind.items():
                    rows.append(
                        (
                            f"search crowd, {kind}: p95 ≤ {SEARCH_P95_MS:.0f} ms",
                            f"{_ms(k['p95'])} ms",
                            k["p95"] <= SEARCH_P95_MS,
                        )
                    )
                trivial_rps = baseline(c, crowd)["rps"]
                share = crowd.rps / trivial_rps if trivial_rps else 0
                rows.append(
                    (
                        f"search crowd: requests/s ≥ {SEARCH_SHARE_OF_TRIVIAL:.0%} of a trivial view's",
                        f"{crowd.rps:.0f} of {trivial_rps:.0f} = {share:.0%}",
                        share >= SEARCH_SHARE_OF_TRIVIAL,
                    )
                )
                errors = sum(k["5xx"] + k["none"] for k in crowd.by_kind.values())
                rows.append(("search crowd: no server errors", str(errors), errors == 0))
            else:
                p95 = ", ".join(f"{kind} {_ms(k['p95'])} ms" for kind, k in crowd.by_kind.items())
                errors = sum(k["5xx"] + k["none"] for k in crowd.by_kind.values())
                rows.append(("mixed crowd (9 : 1): p95 of each kind reported, no server errors", p95, errors == 0))
    for r in availability:
        if r.data_set == "pool" and r.search == "8 weeks":
            rows.append(
                (
                    f"pool, 8 weeks, {r.request}: p95 ≤ {POOL_P95_MS:.0f} ms",
                    f"{_ms(r.p95_ms)} ms",
                    r.p95_ms <= POOL_P95_MS,
                )
            )
        if r.data_set == "state" and r.search == "8 weeks":
            rows.append(
                (
                    f"state, 8 weeks, {r.request}: p95 ≤ {STATE_FLOOR_FACTOR:.0f}× the floor",
                    f"{_ms(r.p95_ms)} ms = {r.ratio:.1f}× {_ms(r.floor_p95_ms)} ms",
                    r.p95_ms <= STATE_FLOOR_FACTOR * r.floor_p95_ms,
                )
            )
    by_key = {(r.data_set, r.search, r.request): r.queries for r in availability}
    for (data_set, search, request), queries in sorted(by_key.items()):
        if search == "8 weeks":
            day = by_key.get((data_set, "1 day", request))
            rows.append(
                (
                    f"{data_set}, {request}: queries do not grow with the range",
                    f"{day} for a day, {queries} for 8 weeks",
                    queries == day,
                )
            )
    for c in crowds:
        k = c.crowd
        rows.append((f"{c.name}: no overlapping live appointments", str(c.overlaps), c.overlaps == 0))
        rows.append(
            (
                f"{c.name}: no server errors",
                f"{k.server_errors} (and {k.transport_errors} without answer)",
                k.server_errors == 0 and k.transport_errors == 0,
            )
        )
        if k.attempts >= c.capacity:
            rows.append(
                (
                    f"{c.name}: every free slot taken exactly once",
                    f"{c.capacity} free, {k.successes} booked, {c.booked} in the database, {c.still_free} still free",
                    k.successes == c.capacity == c.booked and c.still_free == 0,
                )
            )
        else:  # a quick run: fewer attempts than slots, so some stay free by design
            rows.append(
                (
                    f"{c.name}: every booking in the database once (fewer attempts than slots)",
                    f"{c.capacity} free, {k.successes} booked, {c.booked} in the database",
                    k.successes == c.booked,
                )
            )
        rows.append(
            (f"{c.name}: p95 ≤ {CROWD_P95_MS:.0f} ms", f"{_ms(k.latency['p95'])} ms", k.latency["p95"] <= CROWD_P95_MS)
        )
        share = c.attempts_per_second / c.trivial["rps"] if c.trivial["rps"] else 0
        rows.append(
            (
                f"{c.name}: booking requests/s ≥ {CROWD_SHARE_OF_TRIVIAL:.0%} of a trivial view's",
                f"{c.attempts_per_second:.0f} of {c.trivial['rps']:.0f} = {share:.0%}",
                share >= CROWD_SHARE_OF_TRIVIAL,
            )
        )
        m = c.mail
        outbox = ", ".join(f"{n} {state}" for state, n in sorted(m.states.items())) or "none"
        rows.append(
            (
                f"{c.name}: one confirmation mail per booking, none twice",
                f"{m.sent} for {k.successes} bookings, {m.missing} missing, {m.twice} twice (outbox: {outbox})",
                m.ok and m.bookings == k.successes,
            )
        )
        rows.append(
            (
                f"{c.name}: memory ≤ {MEMORY_MB:.0f} MB per process",
                f"web {c.memory['web_max']:.0f} MB, Celery {c.memory['worker_max']:.0f} MB",
                c.memory["web_max"] <= MEMORY_MB and c.memory["worker_max"] <= MEMORY_MB,
            )
        )
    return rows
