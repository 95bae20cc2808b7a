"""Helpers shared by the subcommands: loading several paths, role overrides, warnings."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import parsers
from lrdoctor.fleet import ReadOptions, default_jobs
from lrdoctor.formatting import printable, step_range
from parsers import LoadWarning, Run, RunList


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """PATH arguments and ``--role TAG=ROLE`` overrides, common to every subcommand."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="log file or folder (walked recursively)")
    parser.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="TAG=ROLE",
        help="override the role of a tag, e.g. --role my_loss=train_loss (repeatable)",
    )
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar on stderr (it is drawn only when stderr is a terminal)")
    g = parser.add_argument_group("execution", "where the runs are read and analysed")
    g.add_argument("--jobs", "-j", type=_positive, metavar="N",
                   help=f"processes: this one and N-1 workers (default: all {default_jobs()} cores, the workers "
                   "started once the first runs' measured cost says the rest pays for them)")
    g.add_argument("--scheduler", metavar="tcp://HOST:8786",
                   help='a Dask scheduler: the run folders sent to its cluster, a few per task (pip install "lrdoctor[cluster]")')
    g.add_argument("--no-cache", action="store_true",
                   help="read and analyse everything again instead of reusing cached results of unchanged runs")


# Exit code when a finding at or above --fail-on's severity was found (0, 1 and 2 are taken).
EXIT_FINDINGS = 3


def add_fail_on_argument(parser: argparse.ArgumentParser) -> None:
    """``--fail-on warning|critical``: a CI gate on the worst finding."""
    parser.add_argument("--fail-on", choices=("warning", "critical"), default=None, metavar="SEVERITY",
                        help=f"exit {EXIT_FINDINGS} when any run has a finding of this severity or worse "
                        "(warning or critical), for CI")


def fail_on_exit(analysis: Any, level: str | None) -> int:
    """``EXIT_FINDINGS`` when a finding reaches ``level`` (``--fail-on``), else 0."""
    from lrdoctor.analysis.findings import SEVERITIES

    if level is None:
        return 0
    floor = SEVERITIES.index(level)
    hit = any(SEVERITIES.index(f.severity) >= floor for ra in analysis.runs for f in ra.findings)
    return EXIT_FINDINGS if hit else 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def execution_options(args: argparse.Namespace) -> ReadOptions:
    """``roles``, ``jobs``, ``scheduler`` and ``cache`` for :mod:`lrdoctor.fleet` from the parsed flags."""
    return {
        "roles": parse_roles(args.role),
        "jobs": args.jobs,
        "scheduler": args.scheduler,
        "cache": not args.no_cache,
    }


def parse_roles(pairs: list[str]) -> dict[str, str]:
    """``['tag=role', ...]`` to a dict; raises SystemExit(2) with a clear message on a bad pair."""
    roles: dict[str, str] = {}
    for pair in pairs:
        tag, sep, role = pair.rpartition("=")
        if not sep or not tag or role not in parsers.ROLES:
            print(
                f"lrdoctor: --role {pair!r}: expected TAG=ROLE with ROLE one of {', '.join(parsers.ROLES)}",
                file=sys.stderr,
            )
            raise SystemExit(2)
        roles[tag] = role
    return roles


def load_paths(args: argparse.Namespace) -> RunList:
    """Load every PATH into one RunList (warnings of all paths kept), on the cores/cluster the flags say."""
    from lrdoctor.fleet import load_paths as fleet_load

    return fleet_load(args.paths, **execution_options(args))


def analyze_paths(args: argparse.Namespace) -> Any:
    """Load and analyse every PATH (an :class:`~lrdoctor.analysis.Analysis`), as the flags say,
    with a progress bar on stderr when it is a terminal (not with ``--quiet``)."""
    from lrdoctor.fleet import analyze_paths as fleet_analyze

    from .progress import progress_bar

    with progress_bar(getattr(args, "quiet", False)) as progress:
        return fleet_analyze(args.paths, progress=progress, **execution_options(args))


def print_warnings(warnings: list[LoadWarning]) -> None:
    """One line per problem on stderr, naming the file."""
    for w in warnings:
        print(f"warning: {printable(w)}", file=sys.stderr)


def describe_steps(run: Run) -> str:
    """``'0–4,999'`` or ``'-'``."""
    rng = run.step_range
    return "-" if rng is None else step_range(rng[0], rng[1])
