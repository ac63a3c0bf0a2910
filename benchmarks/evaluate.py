"""Every detection figure in one run (`make evaluate`): the detectors on real labelled data with whole events
held out, and on generated Project X incidents with ground truth. Needs ../shared/data (or SIGNAAL_DATA_DIR)
and scikit-learn (for the held-out rumour models); takes 10-20 minutes on 2 cores.

    .venv/bin/python benchmarks/evaluate.py            # all sections
    .venv/bin/python benchmarks/evaluate.py spikes     # one section

Sections, each printed by its own module (read their docstrings for definitions):
  rumour-model   PHEME rumour vs non-rumour, leave one event out (macro-F1); RumourEval stance;
                 Dutch CheckThat 1A/1B dev F1. Retrains into a temporary folder, not the shipped model.
  rumours        RumourEval threads: minutes from source post to flag (median, p90); false flags on PHEME
                 non-rumours; generated scenarios.
  spikes         CrisisLex T6: minutes from onset to the first spike alert, false alarms before it;
                 generated scenarios.
  mobilisation   Generated Project X incidents (seeds 1-5, tuned on 100-109): hours of warning, minutes
                 after the tipping point, false alarms per simulated week, look-alikes silent.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sections(model_dir: str) -> dict[str, list[str]]:
    return {
        "rumour-model": ["scripts/train_rumour_model.py", "--out-dir", model_dir],
        "rumours": ["benchmarks/eval_rumours.py"],
        "spikes": ["benchmarks/eval_spikes.py", "--part", "crisislex"],
        "spikes-projectx": ["benchmarks/eval_spikes.py", "--part", "projectx"],
        "mobilisation": ["benchmarks/eval_mobilisation.py", "--seeds", "1-5"],
    }


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="signaal-eval-") as model_dir:
        chosen = sections(model_dir)
        wanted = [name for name in chosen if not argv or any(name.startswith(a) for a in argv)]
        failed = []
        for name in wanted:
            print(f"\n=== {name} " + "=" * (100 - len(name)), flush=True)
            started = time.monotonic()
            result = subprocess.run([sys.executable, *chosen[name]], cwd=REPO, check=False)
            print(f"--- {name}: {time.monotonic() - started:.0f} s", flush=True)
            if result.returncode != 0:
                failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
