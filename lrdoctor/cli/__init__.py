"""The ``lrdoctor`` command: ``lrdoctor [PATH ...]`` opens the app, subcommands work headless.

Each subcommand lives in its own module with ``add_arguments(parser)`` and
``run(args) -> int``; this module only dispatches. Exit codes: 0 when anything
loaded, 2 when nothing did (or the arguments are wrong).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import sys

from lrdoctor import __version__

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "inspect": ("lrdoctor.cli.inspect_cmd", "list the runs, tags, roles and points found in PATH"),
    "analyze": ("lrdoctor.cli.analyze_cmd", "diagnose learning-rate problems in PATH"),
    "report": ("lrdoctor.cli.report_cmd", "write an HTML, PDF, Markdown or JSON report"),
    "export": ("lrdoctor.cli.export_cmd", "write every scalar of every run to one Parquet or CSV table"),
    "watch": ("lrdoctor.cli.watch_cmd", "follow runs still training; print each new finding"),
}


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (subcommands whose module is present)."""
    parser = argparse.ArgumentParser(
        prog="lrdoctor",
        description="Post-mortem of a training run's learning rate. "
        "`lrdoctor PATH` opens the app; the subcommands below work headless.",
    )
    parser.add_argument("--version", action="version", version=f"lrdoctor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def _no_display() -> bool:
    """True on a Linux/BSD desktop-less session, where Qt would abort instead of opening a window."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return False
    return not any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def _open_gui(paths: list[str]) -> int:
    for path in paths:
        if path.startswith("-") or not os.path.exists(path):
            hint = difflib.get_close_matches(path, SUBCOMMANDS, n=1)
            also = f" (did you mean `lrdoctor {hint[0]}`?)" if hint else ""
            print(f"lrdoctor: {path!r} is neither a command nor an existing file or folder{also}", file=sys.stderr)
            return 2
    if _no_display():
        print(
            "lrdoctor: cannot open the app: no display (DISPLAY/WAYLAND_DISPLAY unset). "
            "Use `lrdoctor inspect|analyze|report PATH` for headless work, or set QT_QPA_PLATFORM=offscreen.",
            file=sys.stderr,
        )
        return 2
    from .desktop import desktop_problem

    problem = desktop_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from lrdoctor.gui.app import main as gui_main

    return gui_main(paths)


def _never_fail_on_undecodable_text() -> None:
    """Lone surrogates (bytes of a non-UTF-8 file name) written to the terminal come out as ``\\udcff``.

    Names are shown through ``formatting.printable`` everywhere; this is the net under every
    line that forgets, so a file name can never crash a command.
    """
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a detached or closed stream: leave it be
                pass


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lrdoctor`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help", "--version")):
        return _open_gui(argv)
    _never_fail_on_undecodable_text()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 2
    try:
        return int(args._module.run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
