"""``python -m serving``: the profile API under uvicorn with ``SERVING_WORKERS`` workers."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import uvicorn

from serving.settings import ServingSettings


def main() -> None:
    settings = ServingSettings()
    # Each worker writes its metrics here; /metrics sums them. Emptied at start: stale files
    # of a previous run would be summed too.
    folder = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="serving-metrics-"))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    uvicorn.run(
        "serving.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,  # one line per ad request would be the biggest cost of the server
        log_level="info",
    )


if __name__ == "__main__":
    main()
