"""Entry script of the frozen app: the same ``main`` as the ``lrdoctor`` console script.

``lrdoctor`` alone opens the desktop app; ``lrdoctor analyze PATH --json`` and the other
subcommands run headless, exactly as with the pip-installed package.
"""

import multiprocessing
import sys

from lrdoctor.cli import main

if __name__ == "__main__":
    # A frozen app must call this before anything may start a child process
    # (pyqtgraph's multiprocess helpers, a future process pool); a no-op otherwise.
    multiprocessing.freeze_support()
    sys.exit(main())
