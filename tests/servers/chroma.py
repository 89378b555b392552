"""A throwaway Chroma server (``chroma run``) for the test suite.

``new_database()`` creates a fresh database of the default tenant on that server and
returns ``chroma+http://127.0.0.1:PORT/<database>``, so every test starts empty.
The offline copy of the default embedding model is put in Chroma's cache first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.servers import free_port, unavailable

REPO = Path(__file__).resolve().parent.parent.parent
MODEL_SOURCE = REPO.parent / "shared" / "models" / "chroma-all-MiniLM-L6-v2" / "onnx"
MODEL_CACHE = Path.home() / ".cache" / "chroma" / "onnx_models" / "all-MiniLM-L6-v2" / "onnx"


def ensure_embedding_model() -> None:
    """Make Chroma's default embedding function work offline (copy the model if needed)."""
    if (MODEL_CACHE / "model.onnx").exists():
        return
    if not (MODEL_SOURCE / "model.onnx").exists():
        unavailable(f"Chroma's embedding model is neither in {MODEL_CACHE} nor in {MODEL_SOURCE}")
    MODEL_CACHE.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(MODEL_SOURCE, MODEL_CACHE, dirs_exist_ok=True)


class ChromaServer:
    def __init__(self, startup_timeout_s: float = 60.0) -> None:
        self.startup_timeout_s = startup_timeout_s
        self.port = 0
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None

    def start(self) -> None:
        ensure_embedding_model()
        chroma = Path(sys.executable).parent / "chroma"
        if not chroma.exists():
            found = shutil.which("chroma")
            if found is None:
                unavailable("the chroma CLI is not installed")
            chroma = Path(found)
        self._dir = tempfile.TemporaryDirectory(prefix="dbplay-chroma-")
        self.port = free_port()
        self._log = Path(self._dir.name) / "server.log"
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                [str(chroma), "run", "--path", str(Path(self._dir.name) / "data"),
                 "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=env)
        self._wait_ready()

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + self.startup_timeout_s
        url = f"http://127.0.0.1:{self.port}/api/v2/heartbeat"
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                break
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        log = self._log.read_text(errors="replace")[-2000:] if self._log else ""
        self.stop()
        unavailable(f"chroma server did not answer its heartbeat:\n{log}")

    def new_database(self) -> str:
        import chromadb
        from chromadb.config import Settings

        admin = chromadb.AdminClient(Settings(
            chroma_api_impl="chromadb.api.fastapi.FastAPI",
            chroma_server_host="127.0.0.1", chroma_server_http_port=self.port,
            anonymized_telemetry=False))
        name = f"test_{uuid.uuid4().hex[:12]}"
        admin.create_database(name)
        return f"chroma+http://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
