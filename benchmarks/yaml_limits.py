"""Benchmark: hostile search-space files fail fast and small (issue 17, item 5).

Each case is loaded by ``automl.search.load_space`` in a child process, timed,
with its peak memory measured by GNU time (``/usr/bin/time -f %M``); the one
line of the refusal and its length are printed. Before the limits, a
billion-laughs file ran 200 s to 12.6 GB and printed a 2 GiB error line.

Usage (from the repo root): ``python benchmarks/yaml_limits.py``
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE = "segmentation:\n  window_size: 50\n  slide: 25\n"


def laughs(levels: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


CASES = {
    "billion laughs (top level)": laughs() + BASE + "name: *a8\n",
    "billion laughs in a choice list": laughs() + "segmentation:\n  window_size: *a8\n  slide: 25\n",
    "2 MiB file": "# " + "x" * (2 << 20) + "\n" + BASE,
    "200,000 nested lists": "name: " + "[" * 200_000 + "]" * 200_000 + "\n",
    "50,000 bad choices": "segmentation:\n  window_size: [" + ", ".join(["-1"] * 50_000) + "]\n  slide: 25\n",
}


def main() -> None:
    gnu_time = Path("/usr/bin/time").exists()
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in CASES.items():
            path = Path(tmp) / "space.yaml"
            path.write_text(text)
            code = ("import sys\nfrom automl.search import load_space\ntry:\n    load_space(sys.argv[1])\n"
                    "except Exception as exc:\n    print(exc)\n")
            cmd = [sys.executable, "-c", code, str(path)]
            t0 = time.monotonic()
            done = subprocess.run((["/usr/bin/time", "-f", "%M"] if gnu_time else []) + cmd, capture_output=True,
                                  text=True, timeout=600)
            seconds = time.monotonic() - t0
            peak = f"{int(done.stderr.strip().splitlines()[-1]) / 1024:.0f} MB" if gnu_time else "?"
            line = done.stdout.strip()
            print(f"{name}: {path.stat().st_size:,} bytes of YAML -> {seconds:.2f} s, peak {peak} (whole process, "
                  f"imports included), a {len(line)}-character line:\n  {line.replace(tmp, '<tmp>')}")


if __name__ == "__main__":
    main()
