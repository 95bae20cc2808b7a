"""Helpers shared by the subcommands: loading several paths, role overrides, warnings."""

from __future__ import annotations

import argparse
import sys

import parsers
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


def load_paths(paths: list[str], roles: dict[str, str] | None = None) -> RunList:
    """Load every path into one RunList (warnings of all paths kept)."""
    out = RunList()
    for path in paths:
        loaded = parsers.load(path, roles=roles)
        out.extend(loaded)
        out.warnings.extend(loaded.warnings)
    return out


def print_warnings(warnings: list[LoadWarning]) -> None:
    """One line per problem on stderr, naming the file."""
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)


def describe_steps(run: Run) -> str:
    """``'0..4,999'`` or ``'-'``."""
    rng = run.step_range
    return "-" if rng is None else f"{rng[0]:,}..{rng[1]:,}"
