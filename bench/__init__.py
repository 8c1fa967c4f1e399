"""Clientela's benchmarks: `make bench` (``python -m bench``) measures and writes bench/report.md.

They never run as part of the test suite: they need minutes and a database of 100,000 contacts.
"""
