"""Performance benchmarks (issue 8): `python -m tests.benchmarks.run [--quick]` or `make bench`.

Not part of the test suite: the runner builds its own PostgreSQL database and its own data, starts
its own servers on loopback and writes tests/benchmarks/results.md. Only the tests of the
benchmark's own checks (test_*.py here) run with the suite, on small data of their own.
"""
