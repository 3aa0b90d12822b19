"""Comments and docstrings in jkeras/ name files of the repository, never paths on some machine,
and quote no timings (those live in scripts/BENCH_RESULTS.md with the command that measures
them): scripts/comment_audit.py finds nothing."""
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import comment_audit  # noqa: E402


def test_no_comment_points_outside_the_repository_or_quotes_a_timing():
    assert list(comment_audit.audit(ROOT)) == []


def test_the_audit_finds_both_kinds():
    source = '"""Doc."""\n# see /tmp/x.py\nx = 1  # this took 120 ms\n'
    kinds = sorted(f[1] for f in comment_audit.findings("m.py", source))
    assert kinds == ["outside-path", "timing"]
