"""Each benchmark, run at a tiny scale, so that it keeps working (figures come from full runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_the_embedding_length_benchmark_reports_each_token_limit(models_dir: Path) -> None:
    command = [sys.executable, str(BENCHMARKS / "bench_embedding_length.py"), "--lengths", "16,32",
               "--limit", "8", "--models-dir", str(models_dir)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 16 |") or line.startswith("| 32 |")]
    assert len(rows) == 2
    assert "× the cost of 16" in rows[1]
