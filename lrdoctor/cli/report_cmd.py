"""``lrdoctor report PATH... -o FILE[.html|.pdf|.md|.json]``: write a report, headless.

The format comes from the suffix (or ``--format``). Exit codes: 0 written; 1 the report
could not be written (permission, disk full ...); 2 nothing loaded or bad arguments
(unknown suffix, output folder missing, bad cost flag, or ``-o`` naming one of the log files
read: lrdoctor never writes over its inputs); 3 written, and a finding reached ``--fail-on``'s severity.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lrdoctor.cost import estimate_costs
from lrdoctor.formatting import printable
from lrdoctor.report import ReportError, format_for, write_report

from .common import add_load_arguments, analyze_paths, print_warnings
from .common import add_fail_on_argument, fail_on_exit
from .cost_options import add_cost_arguments, settings_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``report``."""
    add_load_arguments(parser)
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="report file; the format follows the suffix: .html, .pdf, .md or .json")
    parser.add_argument("--format", choices=("html", "pdf", "md", "json"), default=None,
                        help="force the format instead of reading it from the suffix")
    add_fail_on_argument(parser)
    add_cost_arguments(parser)  # the same flags as ``analyze``, so ``-o x.json`` equals ``analyze --json``


def run(args: argparse.Namespace) -> int:
    """Execute ``report``."""
    try:
        format_for(args.output, args.format)
        if not Path(args.output).resolve().parent.is_dir():
            raise ReportError(f"{args.output}: folder {Path(args.output).resolve().parent} does not exist")
    except ReportError as exc:
        print(f"lrdoctor report: {exc}", file=sys.stderr)
        return 2
    chosen, saved = settings_from_args(args)  # a bad cost flag exits 2 before anything is read
    analysis = analyze_paths(args)
    print_warnings(analysis.warnings)
    if not analysis.runs:
        print("lrdoctor report: no run found in " + ", ".join(args.paths) + "; nothing written", file=sys.stderr)
        return 2
    costs = estimate_costs(analysis, chosen, saved)
    try:
        path = write_report(analysis, args.output, args.format, inputs=list(args.paths), costs=costs)
    except ReportError as exc:  # e.g. -o names one of the logs: refused, nothing written
        print(f"lrdoctor report: {printable(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lrdoctor report: cannot write {printable(args.output)}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(path)
    return fail_on_exit(analysis, args.fail_on)
