"""Time to a healthy stack from cold and warm caches, and the stack's peak memory.

Runs a separate stack (own folders under var/bench-stack, ports shifted by 20000) so a running
developer stack is left alone:

1. cold: empty data folders and an empty Maven/jar cache (the venv is reused), ``up``;
2. memory: the summed RSS of every process in our engines' process groups, sampled each
   second for ``--sample`` seconds while idle, plus the peak seen during the cold start;
3. warm: ``down`` then ``up`` again with data and jars in place.

Writes bench/results/stack_startup.json. Run: ``make bench`` or
``var/venv/bin/python bench/stack_startup.py [--sample 30] [--keep-cache]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import threading
import time
from pathlib import Path

from adtarget.stack import registry
from adtarget.stack.config import PROJECT_ROOT, StackSettings

RESULTS = PROJECT_ROOT / "bench" / "results" / "stack_startup.json"
PORT_SHIFT = 20000


def _rss_of_groups(settings: StackSettings) -> int:
    """Summed RSS (bytes) of every process whose process group is one of our engines'."""
    groups = {pid for e in registry.engines(settings) if (pid := e.pid_file.alive_pid()) is not None}
    total = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) in groups:  # field 5: process group id
                total += int((entry / "statm").read_text().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    return total


class PeakSampler(threading.Thread):
    """Samples the stack's summed RSS once a second until stopped."""

    def __init__(self, settings: StackSettings) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.peak = 0
        self.samples: list[int] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(1.0):
            rss = _rss_of_groups(self.settings)
            self.samples.append(rss)
            self.peak = max(self.peak, rss)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sample", type=int, default=30, help="seconds of idle memory sampling")
    parser.add_argument("--keep-cache", action="store_true", help="reuse the jar cache (no downloads)")
    args = parser.parse_args()

    base = StackSettings()
    root = base.var_dir / "bench-stack"
    shutil.rmtree(root, ignore_errors=True)
    shift = {f: getattr(base, f) + PORT_SHIFT for f in StackSettings.model_fields if f.endswith("_port")}
    settings = StackSettings(
        var_dir=root / "var",
        venv_dir=base.venv_dir,
        cache_dir=base.cache_dir if args.keep_cache else root / "cache",
        **shift,
    )
    result: dict[str, object] = {
        "ports_shifted_by": PORT_SHIFT,
        "jar_cache": "kept" if args.keep_cache else "empty",
    }
    try:
        print(
            f"cold start ({'jar cache kept' if args.keep_cache else 'empty jar cache, downloads included'})"
        )
        sampler = PeakSampler(settings)
        sampler.start()
        t0 = time.monotonic()
        registry.up(settings)
        result["cold_seconds"] = round(time.monotonic() - t0, 1)
        print(f"memory: sampling {args.sample}s while idle")
        time.sleep(args.sample)
        sampler.stop()
        result["peak_rss_mb"] = round(sampler.peak / 2**20)
        result["idle_rss_mb_last"] = round(sampler.samples[-1] / 2**20) if sampler.samples else None
        print("warm start")
        registry.down(settings)
        t0 = time.monotonic()
        registry.up(settings)
        result["warm_seconds"] = round(time.monotonic() - t0, 1)
    finally:
        registry.down(settings)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
