"""Nimbus benchmarks: ``make bench`` runs them all, ``make bench B=<topic>`` runs one.

Each ``bench/<topic>.py`` exposes ``main() -> None``. It measures Nimbus and
its baseline in the same run, against the same data, and ends with one line
per figure (see ``bench._report`` and CONVENTIONS.md, "Benchmarks"):

    BENCH <topic>.<figure> value=<number><unit> baseline=<number><unit> ratio=<x> goal=<text> <MET|MISSED>

The runner (``bench.__main__``) gives every run its own services and its own,
freshly created database, so a benchmark never touches development or test
data. Benchmarks are never part of the test run and never assert.
"""
