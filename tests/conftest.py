import sys
from pathlib import Path

# tests import helpers such as ``synth`` from this folder
sys.path.insert(0, str(Path(__file__).parent))

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
