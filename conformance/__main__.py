"""``python -m conformance`` and the ``conformance`` console script (see :mod:`conformance.cli`).

``run`` fixes Python's hash seed before anything is imported: started without ``PYTHONHASHSEED=0`` it
re-executes the same command line with it, so set iteration order, and with it the examples a derandomized
(``ci``) run draws, does not depend on the caller's environment.
"""
import os
import sys


def fix_hash_seed(argv: list[str]) -> None:
    """Re-execute this process's command line with PYTHONHASHSEED=0 when ``argv`` is a ``run`` without it."""
    if argv[:1] != ["run"] or os.environ.get("PYTHONHASHSEED") == "0":
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], dict(os.environ, PYTHONHASHSEED="0"))


def entry() -> int:
    """The program's entry point: fix the hash seed, then :func:`conformance.cli.main`."""
    fix_hash_seed(sys.argv[1:])
    from conformance.cli import main
    return main()


if __name__ == "__main__":
    sys.exit(entry())
