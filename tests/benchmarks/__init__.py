"""Performance benchmarks (issue 8): `python -m tests.benchmarks.run [--quick]` or `make bench`.

Not part of the test suite: no file here is named test_*.py, so pytest never collects them. The
runner builds its own PostgreSQL database and its own data, starts its own servers on loopback and
writes tests/benchmarks/results.md.
"""
