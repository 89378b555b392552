"""A running Docker engine with the sandbox images built, for the tests that need one.

Runs the project's own ``scripts/start-docker.sh`` and ``compose/build-offline-images.sh``
(both idempotent and quick when everything is in place)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.servers import unavailable

REPO = Path(__file__).resolve().parents[2]


def _run(script: Path, timeout: float, *args: str) -> None:
    try:
        proc = subprocess.run(["bash", str(script), *args], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        unavailable(f"{script.name}: {exc}")
    if proc.returncode != 0:
        unavailable(f"{script.name} failed: {proc.stderr.strip()[-2000:]}")


def ensure_docker_engine(*images: str) -> None:
    """A running Docker engine with the offline sandbox images (and ``images``, e.g.
    ``app``: compose/build-offline-images.sh targets) built; fast when they exist."""
    _run(REPO / "scripts" / "start-docker.sh", 180)
    _run(REPO / "compose" / "build-offline-images.sh", 1200,
         "postgres", "mongo", "chroma", *images)
