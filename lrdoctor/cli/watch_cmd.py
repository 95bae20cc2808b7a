"""``lrdoctor watch PATH... [--json] [--fail-on SEVERITY]``: follow runs still training.

Prints each new finding as one line (``--json``: one JSON object per line) as soon as the
changed run has been re-read and re-analysed. Exit codes: 1 a finding at or above
``--fail-on`` appeared (a training script or CI can stop early); 0 stopped by ``--max-time``
or Ctrl+C (130); 2 nothing to watch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from lrdoctor.analysis.findings import SEVERITIES
from lrdoctor.watch import NewFinding, RunWatcher, severity_at_least

from .common import EXIT_FINDINGS, parse_roles, print_warnings

# Polling period: a training step's log line lands every second or so; 2 s keeps one core idle.
DEFAULT_INTERVAL_S = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``watch``."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="log file or folder to follow")
    parser.add_argument("--role", action="append", default=[], metavar="TAG=ROLE",
                        help="override the role of a tag, e.g. --role my_loss=train_loss (repeatable)")
    parser.add_argument("--json", action="store_true", help="one JSON object per finding and line")
    parser.add_argument("--fail-on", choices=SEVERITIES, default=None, metavar="SEVERITY",
                        help=f"exit 3 (as analyze --fail-on) as soon as a finding of this severity or worse appears ({', '.join(SEVERITIES)})")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_S, metavar="SECONDS",
                        help=f"seconds between looks at the files (default {DEFAULT_INTERVAL_S:g})")
    parser.add_argument("--max-time", type=float, default=None, metavar="SECONDS",
                        help="stop (exit 0) after this many seconds without a failing finding")


def _print(finding: NewFinding, as_json: bool) -> None:
    if as_json:
        print(json.dumps(finding.to_dict(), allow_nan=False, default=str), flush=True)
    else:
        print(f"[{finding.finding.severity}] {finding.describe()}", flush=True)


def run(args: argparse.Namespace) -> int:
    """Execute ``watch``: poll until a failing finding, ``--max-time`` or Ctrl+C."""
    missing = [p for p in args.paths if not os.path.exists(p)]
    for p in missing:
        print(f"lrdoctor watch: {p}: no such file or folder", file=sys.stderr)
    paths = [p for p in args.paths if os.path.exists(p)]
    if not paths:
        return 2
    watcher = RunWatcher(paths, parse_roles(args.role))
    deadline = None if args.max_time is None else time.monotonic() + args.max_time
    update = watcher.start()
    # On stderr even with --json: stdout stays one JSON object per line, a caller can wait for this.
    print(f"watching {len(watcher.runs)} run(s) in {', '.join(paths)} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    while True:
        print_warnings(update.warnings)
        for finding in update.new_findings:
            _print(finding, args.json)
            if args.fail_on and severity_at_least(finding.finding.severity, args.fail_on):
                return EXIT_FINDINGS
        if deadline is not None and time.monotonic() >= deadline:
            return 0
        time.sleep(args.interval)
        update = watcher.poll()
