"""Benchmark: peak memory and time of reading one very large capture file.

Writes a label-column capture of ``--rows`` rows (default 5,000,000, ~800 MB)
in the Sensor Logger layout of ../shared/data/boxing-punches: the real rows of
the 14 boxing files repeated in turn, with the timestamps rewritten to a
continuous 100 Hz clock, so every cell is as wide as in the real data. Then
reads it with ``automl.data.read_labelled_csv_folder`` in a fresh Python
process and prints:

* the file size (bytes);
* the reader process's peak resident memory (``ru_maxrss``), and its peak
  minus the memory it held after importing automl.data (the reading itself);
* both as a ratio of the file size (the goal, issue 17: at most ~10x);
* the reading time (s) and the rows read per second.

Usage (from the repo root)::

    python benchmarks/large_capture.py [--rows 5000000] [--keep]

The file goes to the system temp folder and is deleted afterwards unless
``--keep`` (then it is reused by the next run with the same ``--rows``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "boxing-punches"

# Run in a fresh interpreter: ru_maxrss is a process's peak since it started.
CHILD = """
import json, resource, sys, time
import automl.data
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
ds = automl.data.read_labelled_csv_folder(sys.argv[1])
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"base_kib": base, "peak_kib": peak, "seconds": seconds,
                  "rows": ds.captures[0].n_samples, "segments": len(ds.segments), "channels": list(ds.channels)}))
"""


def write_capture(path: Path, rows: int) -> None:
    """The boxing rows in turn, timestamps rewritten to 10 ms steps from 0 (ns) and 0 s."""
    lines: list[list[str]] = []
    for f in sorted(DATA.glob("*.csv")):
        with open(f) as fh:
            header = fh.readline().rstrip("\n")
            lines.extend(line.rstrip("\n").split(",", 2) for line in fh)
    with open(path, "w") as out:
        out.write(header + "\n")
        for i in range(rows):
            _, _, rest = lines[i % len(lines)]
            out.write(f"{1_696_409_036_958_328_800 + i * 10_000_000},{i / 100:.6f},{rest}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the file (and reuse it next time)")
    args = parser.parse_args()
    folder = Path(tempfile.gettempdir()) / f"automl-large-capture-{args.rows}"
    folder.mkdir(exist_ok=True)
    file = folder / "large.csv"
    if not file.exists():
        t0 = time.perf_counter()
        write_capture(file, args.rows)
        print(f"wrote {file} in {time.perf_counter() - t0:.0f} s")
    size = file.stat().st_size
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True,
                              cwd=REPO, check=False)
        if proc.returncode != 0:
            sys.exit(f"reader failed:\n{proc.stderr}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        if not args.keep:
            file.unlink()
            folder.rmdir()
    peak, read = r["peak_kib"] * 1024, (r["peak_kib"] - r["base_kib"]) * 1024
    print(f"file: {r['rows']:,} rows, {size / 1e6:,.0f} MB, channels {r['channels']}, {r['segments']:,} segments")
    print(f"peak RSS of the reader process: {peak / 1e6:,.0f} MB = {peak / size:.2f} x the file size")
    print(f"peak RSS minus the RSS after importing automl.data: {read / 1e6:,.0f} MB = {read / size:.2f} x the file size")
    print(f"read in {r['seconds']:.1f} s ({r['rows'] / r['seconds']:,.0f} rows/s, {size / 1e6 / r['seconds']:.1f} MB/s)")


if __name__ == "__main__":
    main()
