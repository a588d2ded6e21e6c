"""Run the benchmarks: `python -m tests.benchmarks.run [--quick]` (or `make bench`).

Builds its own PostgreSQL database (BENCH_DB_NAME, default ikz_bench, on BENCH_POSTGRES_URL,
default postgres://postgres@127.0.0.1:5432), fills it with the *pool* and then the *state* data
set, measures availability in-process, runs the flash crowd over HTTP against gunicorn and Celery
(Redis: BENCH_REDIS_URL, default redis://127.0.0.1:6379/12, a database number of its own, flushed),
prints the results and writes them to tests/benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")

# Targets of issue 8.
POOL_P95_MS = 30.0
STATE_FLOOR_FACTOR = 2.0
CROWD_P95_MS = 300.0
SEARCH_P95_MS = 200.0
SEARCH_SHARE_OF_TRIVIAL = 0.40

CROWD_SHARE_OF_TRIVIAL = 0.30  # the booking crowd (issue 17: ≥ 30 % of the trivial view)
MEMORY_MB = 150.0
# gunicorn sync workers in all, over the instances of a run: one per core. The client, PostgreSQL,
# Redis and the Celery workers share these cores; more workers only add switching between them
# (measured: 4 workers for one instance, 7.1 ms of gunicorn CPU per crowd request; 2 workers, 5.4).
WEB_WORKERS = os.cpu_count() or 2
# The Celery workers' priority below gunicorn's where both share the cores (README, Production).
WORKER_NICE = 10


def setup_django(database_url: str, var_dir: Path) -> None:
    # This process measures in-process availability and checks the database; it needs no broker.
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "PRODUCTION", "DJANGO_SETTINGS_MODULE"):
        os.environ.pop(name, None)
    os.environ["DATABASE_URL"] = database_url
    os.environ["IKZ_VAR_DIR"] = str(var_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "ikz_portal.settings"
    os.environ.setdefault("SECRET_KEY", "benchmark-secret-key-not-for-production-0123456789")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def fresh_database() -> None:
    """Drop, create and migrate the benchmark database (closing this process's connections first)."""
    from django.core.management import call_command
    from django.db import connections

    from . import database

    connections.close_all()
    database.recreate()
    call_command("migrate", verbosity=0)


def machine() -> dict:
    memory = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) / 1024 / 1024
    from . import database

    return {
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "cpu": _cpu_model(),
        "postgres": database.server_version(),
        "python": platform.python_version(),
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and a smaller crowd (smoke run)")
    parser.add_argument("--skip-http", action="store_true", help="only the in-process availability benchmark")
    parser.add_argument(
        "--web-workers",
        type=int,
        default=WEB_WORKERS,
        help=f"gunicorn sync workers in all, shared out over the instances (default {WEB_WORKERS}, one per core)",
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=WORKER_NICE,
        help=f"nice value of the Celery workers (default {WORKER_NICE}, as in the README)",
    )
    parser.add_argument("--output", type=Path, default=HERE / "results.md", help="where to write the table")
    parser.add_argument(
        "--keep-work",
        action="store_true",
        help="keep the work files (server logs, the mail files) instead of removing them at the end",
    )
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="ikz-bench-"))
    from . import database

    setup_django(database.url(), work / "var")
    from django.utils import timezone

    from . import bench_availability, data, report

    quick = args.quick
    runs_range, runs_day = (5, 20) if quick else (40, 200)
    attempts, clients, trivial = (300, 50, 500) if quick else (1000, 50, 2000)
    searches = 500 if quick else 2000
    began = time.monotonic()
    info = machine()
    info.update(
        date=dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        mode="quick" if quick else "full",
        load_before=load_average(),
    )
    print(
        f"Benchmark ({info['mode']}), {info['cores']} cores, {info['memory_gib']:.1f} GiB; work files in {work}",
        flush=True,
    )
    data_sets, availability, crowds, plan = [], [], [], ""
    try:
        # pool: availability, then the flash crowd on released days of the same database.
        fresh_database()
        pool = data.build_pool(now=timezone.now())
        data_sets.append(pool)
        print(
            f"  pool built: {pool.live} live appointments, {pool.booked:.0%} booked, {pool.seconds:.0f} s", flush=True
        )
        availability += bench_availability.measure(pool, runs_range=runs_range, runs_day=runs_day)
        print("  pool availability measured", flush=True)
        if not args.skip_http:
            from . import bench_http

            today = timezone.localdate()
            taken: set = set()
            for name, web, workers, offset in (("single", 1, 1, 14), ("scale-out", 2, 2, 15)):
                day = bench_http.release_day(today + dt.timedelta(days=offset), taken)
                taken.add(day)
                crowd = bench_http.run_crowd(
                    name=name,
                    web=web,
                    workers=workers,
                    day=day,
                    database_url=database.url(),
                    redis_url=REDIS_URL,
                    work_dir=work / name,
                    attempts=attempts,
                    clients=clients,
                    trivial_requests=trivial,
                    seed=data.SEED + web,
                    web_workers=max(1, args.web_workers // web),
                    worker_nice=args.worker_nice,
                    # The search crowd and the mixed crowd once, on the single instance.
                    search_requests=searches if web == 1 else 0,
                )
                crowds.append(crowd)
                print(
                    f"  flash crowd {name}: {crowd.crowd.successes} booked of {crowd.capacity}, "
                    f"p95 {crowd.crowd.latency['p95']:.0f} ms",
                    flush=True,
                )
        # state: a database of its own, to see how the cost grows.
        fresh_database()
        state = data.build_state(now=timezone.now())
        data_sets.append(state)
        print(
            f"  state built: {state.live} live appointments, {state.booked:.0%} booked, {state.seconds:.0f} s",
            flush=True,
        )
        availability += bench_availability.measure(state, runs_range=runs_range, runs_day=runs_day)
        plan = bench_availability.explain_busy_query(state)
        print("  state availability measured", flush=True)
    finally:
        from django.db import connections

        connections.close_all()
    info["load_after"] = load_average()
    info["minutes"] = (time.monotonic() - began) / 60
    text = report.render(info=info, data_sets=data_sets, availability=availability, crowds=crowds, plan=plan)
    args.output.write_text(text)
    print()
    print(text)
    print(f"Written to {args.output}")
    if args.keep_work:
        print(f"Work files kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
