"""Entry script of the bundle's command-line executable `hwr` (packaging/hwr.spec)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # hwr transcribe --workers N starts processes
    from hwr.cli.main import main

    sys.exit(main())
