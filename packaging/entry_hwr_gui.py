"""Entry script of the bundle's desktop executable `hwr-gui` (packaging/hwr.spec)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # batch transcription and training may start processes
    from hwr_gui.app import main

    sys.exit(main())
