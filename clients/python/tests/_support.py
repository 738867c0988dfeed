"""Real ModelMora servers for the SDK's tests, and waiting helpers.

Each server is the repository's own (``node --import tsx src/cli.ts --port 0``),
started in its own process; the fixture reads the port from its
``modelmora listening on URL`` line, keeps its JSON log lines (stderr) for
assertions, and stops it with SIGTERM after the tests that use it.

The fixtures in conftest.py start them. Environment:
    MODELMORA_REPO  the repository root (default: three folders up from here)
    MODELMORA_NODE  the node executable (default: node on PATH)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

import httpx

REPO = Path(os.environ.get("MODELMORA_REPO", Path(__file__).resolve().parents[3]))
NODE = os.environ.get("MODELMORA_NODE", "node")
_LISTENING = re.compile(r"modelmora listening on (\S+)")

# Keys of the auth server. None of them is a secret: the server exists for one test run.
KEYS = {
    "ci": "mm_test_ci_0123456789",
    "monitor": "mm_test_monitor_0123456789",
    "solo": "mm_test_solo_0123456789",
}


class Server:
    """A ModelMora server process on a free port of 127.0.0.1."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, scheme: str = "http") -> None:
        command = [NODE, "--import", "tsx", "src/cli.ts", "--port", "0", "--host", "127.0.0.1", *args]
        self._proc = subprocess.Popen(
            command,
            cwd=REPO,
            env={**os.environ, "NO_COLOR": "1", **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._stderr: list[str] = []
        #: For a TLS server, the CA file clients must trust.
        self.ca_file: str | None = None
        self._listening = threading.Event()
        self.url = ""
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        # Generous: tsx compiles the server on start, on a busy machine.
        if not self._listening.wait(90) or not self.url:
            self.stop()
            raise RuntimeError(f"the server did not start: {' '.join(command)}\n{self.stderr}")
        self.port = int(self.url.rsplit(":", 1)[1].rstrip("/"))
        #: host:port for clients; localhost, the certificate's name, for TLS.
        self.target = f"127.0.0.1:{self.port}"
        if scheme == "https":
            self.target = f"localhost:{self.port}"
            self.url = f"https://{self.target}"

    def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            match = _LISTENING.search(line)
            if match and not self.url:
                self.url = match.group(1)
                self._listening.set()
        self._listening.set()  # exited: stop waiting

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def calls(self) -> list[dict]:
        """The server's call log lines so far (``"msg": "call"``), parsed."""
        lines = []
        for line in list(self._stderr):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg") == "call":
                lines.append(entry)
        return lines

    def call_with_request_id(self, request_id: str) -> dict | None:
        for entry in self.calls():
            if entry.get("request_id") == request_id:
                return entry
        return None

    def metric(self, name: str, headers: dict[str, str] | None = None) -> float:
        """The sum of a metric's samples on GET /metrics (every label set)."""
        response = httpx.get(
            f"{self.url}/metrics", headers=headers, verify=self.ca_file or True, trust_env=False
        )
        response.raise_for_status()
        total = 0.0
        for line in response.text.splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def signal(self, sig: int) -> None:
        if self._proc.poll() is None:
            self._proc.send_signal(sig)

    def wait(self, timeout: float = 30) -> int:
        return self._proc.wait(timeout)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 30 s."""
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


def wait_for(predicate: Callable[[], object], what: str, limit: float = 30.0) -> None:
    """Polls until predicate() is true. The limit only keeps a broken test from hanging."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


async def async_wait_for(predicate: Callable[[], object], what: str, limit: float = 30.0) -> None:
    """wait_for, yielding to the event loop between tries."""
    import asyncio

    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)
