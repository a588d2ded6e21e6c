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


def render(*, info: dict, data_sets, availability, crowds, plan: str) -> str:
    out = []
    out.append(
        f"Run {info['date']} ({info['mode']}, {info['minutes']:.1f} min): {info['cores']} cores "
        f"({info['cpu']}), {info['memory_gib']:.1f} GiB, PostgreSQL {info['postgres']}, "
        f"Python {info['python']}; load average before {info['load_before']}, after {info['load_after']}."
    )
    out.append("")
    out.extend(quiet_machine_warning(info, crowds))
    out.append(
        "| data set | offices | counters | live appointments, next 8 weeks | booked | rows in the table | built in |"
    )
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for d in data_sets:
        out.append(
            f"| {d.name} | {d.offices} | {d.counters} | {d.live:,} | {d.booked:.0%} | {d.rows:,} | {d.seconds:.0f} s |"
        )
    out.append("")
    out.append(
        "**Availability**, in-process on PostgreSQL, any-office search (ms wall clock; CPU: this process's "
        "CPU time per search; queries: with the configuration in memory, as after its first reading; floor: "
        "the bare SQL that reads the same appointments, counters, hours and closures, with psycopg's own "
        "loaders):"
    )
    out.append("")
    out.append(
        "| data set | search | request | median | p95 | CPU median | queries | slots | appointments read "
        "| floor median | floor p95 | p95 ÷ floor p95 |"
    )
    out.append("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in availability:
        ratio = "–" if math.isnan(r.ratio) else f"{r.ratio:.1f}×"
        read = f"{r.busy_rows:,}" if r.busy_rows else "–"
        out.append(
            f"| {r.data_set} | {r.search} | {r.request} | {_ms(r.median_ms)} | {_ms(r.p95_ms)} "
            f"| {_ms(r.cpu_median_ms)} | {r.queries} "
            f"| {r.slots:,} | {read} | {_ms(r.floor_median_ms)} | {_ms(r.floor_p95_ms)} | {ratio} |"
        )
    if crowds:
        out.append("")
        out.append(
            "**Flash crowd** over HTTP (gunicorn with sync workers, one per core in all, and the "
            "production settings; "
            f"Celery workers with the solo pool at nice {crowds[0].worker_nice}; PostgreSQL and Redis on "
            "the same machine; the client on the same machine too). Latencies in ms for the booking "
            "requests; mails: the seconds from the crowd's start until the last confirmation mail was "
            "sent:"
        )
        out.append("")
        out.append(
            "| run | gunicorn instances × workers / Celery workers | day | free slots | attempts | booked "
            "| slot_taken | other 4xx | 5xx | no answer | p50 | p95 | p99 | bookings/s | requests/s "
            "| trivial view req/s (p95) "
            "| overlaps | still free | mails (missing, twice) | all mails sent after |"
        )
        out.append(
            "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: "
            "| ---: | ---: | ---: | ---: | --- | ---: |"
        )
        for c in crowds:
            k = c.crowd
            other = ", ".join(f"{n}× {code}" for code, n in sorted(k.other_4xx.items())) or "0"
            m = c.mail
            out.append(
                f"| {c.name} | {c.web} × {c.web_workers} / {c.workers} | {c.day:%a %d.%m.} | {c.capacity} "
                f"| {k.attempts} | {k.successes} "
                f"| {k.slot_taken} | {other} | {k.server_errors} | {k.transport_errors} | {_ms(k.latency['p50'])} "
                f"| {_ms(k.latency['p95'])} | {_ms(k.latency['p99'])} | {c.bookings_per_second:.1f} "
                f"| {c.attempts_per_second:.1f} | {c.trivial['rps']:.0f} ({_ms(c.trivial['p95'])}) | {c.overlaps} "
                f"| {c.still_free} | {m.sent} ({m.missing}, {m.twice}) | {_seconds(m.seconds)} |"
            )
        out.append("")
        out.append(
            "Where the CPU went, per request, phase by phase (ms of CPU, user + system, from /proc; "
            "the flash crowd's requests include the slot lists and the confirmation mails sent during "
            "it; PostgreSQL: the benchmark database's backends and the server's own processes; rest: "
            "everything else on the machine, the kernel's loopback traffic included; load: the 1-minute "
            "load average when the phase began):"
        )
        out.append("")
        out.append("| run | phase | load | gunicorn | Celery | PostgreSQL | Redis | load client | rest | machine |")
        out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for c in crowds:
            for phase in c.phases:
                cpu = phase.cpu
                out.append(
                    f"| {c.name} | {phase.name} | {phase.load:.2f} | "
                    + " | ".join(f"{cpu[p]:.1f}" for p in CPU_PARTS)
                    + f" | {rest_ms(cpu):.1f} | {cpu['machine']:.1f} |"
                )
        searches = [(c, crowd) for c in crowds for crowd in getattr(c, "searches", [])]
        if searches:
            out.append("")
            out.append(
                "**Search crowd and mixed crowd** on the same server after the flash crowd (50 clients; "
                "`page`: the citizen's first results page, `GET /termin/kalender/` of an any-office "
                "search: the day strip of the whole horizon and the first free day's times; `days`: "
                "`GET /api/v1/days` for 4 weeks, any office; `slots`: `GET /api/v1/slots` for the same "
                "4 weeks; first looks, without `If-None-Match`; the mixed crowd books one request in ten "
                "from its last slot list). Latencies in ms; share: requests/s of the whole crowd against "
                "the trivial view's measured on the same warm server just before it; CPU: ms per request "
                "of the crowd, gunicorn / PostgreSQL / all:"
            )
            out.append("")
            out.append(
                "| crowd | kind | requests | 2xx | 4xx | 5xx | no answer | p50 | p95 | p99 "
                "| crowd requests/s | trivial view req/s | share of trivial | CPU gunicorn / PostgreSQL / all |"
            )
            out.append(
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
            )
            for c, crowd in searches:
                trivial_rps = baseline(c, crowd)["rps"]
                share = crowd.rps / trivial_rps if trivial_rps else 0
                cpu = crowd.cpu or {}
                cpu_text = f"{cpu['web']:.1f} / {cpu['postgres']:.1f} / {cpu['machine']:.1f}" if cpu else "–"
                for kind, k in crowd.by_kind.items():
                    out.append(
                        f"| {crowd.name} | {kind} | {k['requests']} | {k['ok']} | {k['4xx']} | {k['5xx']} "
                        f"| {k['none']} | {_ms(k['p50'])} | {_ms(k['p95'])} | {_ms(k['p99'])} "
                        f"| {crowd.rps:.0f} | {trivial_rps:.0f} | {share:.0%} | {cpu_text} |"
                    )
        out.append("")
        out.append("| run | web worker RSS, max (all) | Celery worker RSS, max (all) |")
        out.append("| --- | ---: | ---: |")
        for c in crowds:
            m = c.memory
            out.append(
                f"| {c.name} | {m['web_max']:.0f} MB ({', '.join(f'{x:.0f}' for x in m['web_all'])}) "
                f"| {m['worker_max']:.0f} MB ({', '.join(f'{x:.0f}' for x in m['worker_all'])}) |"
            )
    out.append("")
    out.append("**Targets**")
    out.append("")
    out.append("| target | measured | |")
    out.append("| --- | --- | --- |")
    for row in targets(availability, crowds):
        out.append(f"| {row[0]} | {row[1]} | {_yes(row[2])} |")
    if plan:
        out.append("")
        out.append("Plan of the availability query for the 8-week state search (EXPLAIN ANALYZE):")
        out.append("")
        out.append("```")
        out.extend(line for line in plan.splitlines())
        out.append("```")
    out.append("")
    return "\n".join(out)


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
