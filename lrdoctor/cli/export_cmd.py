"""``lrdoctor export PATH... -o all.parquet|all.csv``: every scalar of every run in one table."""

from __future__ import annotations

import argparse
import sys

from lrdoctor.fleet.export import EXPORT_COLUMNS, ExportError, export_format, scalars_table, write_table

from .common import add_load_arguments, load_paths, print_warnings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``export``."""
    add_load_arguments(parser)
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help=f"table file, .parquet or .csv; columns: {', '.join(EXPORT_COLUMNS)}")
    parser.add_argument("--format", choices=("parquet", "csv"), default=None,
                        help="force the format instead of reading it from the suffix")


def run(args: argparse.Namespace) -> int:
    """Execute ``export``: 0 written, 1 could not write, 2 nothing loaded or bad arguments."""
    try:
        export_format(args.output, args.format)
    except ExportError as exc:
        print(f"lrdoctor export: {exc}", file=sys.stderr)
        return 2
    runs = load_paths(args)
    print_warnings(runs.all_warnings())
    if not runs:
        print("lrdoctor export: no run found in " + ", ".join(args.paths) + "; nothing written", file=sys.stderr)
        return 2
    table = scalars_table(runs)
    try:
        path = write_table(table, args.output, args.format, protected=[f for r in runs for f in r.files])
    except (ExportError, OSError) as exc:
        print(f"lrdoctor export: {exc}", file=sys.stderr)
        return 1
    print(f"{path}: {len(table):,} points of {len(runs)} run(s)")
    return 0
