"""The reports layer: records of a conformance run -> headline figures, matrix, divergence table with
verdicts, known-divergence matching, report files, reproduction and run diffs.

Entry points (each returns an exit code): :func:`build`, :func:`reproduce`, :func:`diff`;
:func:`headline_markdown` renders the headline block of a written report for the project README.
"""
from conformance.report.cli import build, diff, main, make_report, reproduce
from conformance.report.render import headline_markdown

__all__ = ["build", "reproduce", "diff", "main", "make_report", "headline_markdown"]
