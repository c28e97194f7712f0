# The shared helpers (lambda_emulator, sam_local, kafka_events, ...) live one level up.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
