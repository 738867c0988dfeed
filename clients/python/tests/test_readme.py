"""Every Python example of README.md, run as printed against a real server.

An example is a ```python block after a marker: ``<!-- expect: TEXT -->``
runs it against the default server and checks that its output holds TEXT;
``<!-- run: secure expect="TEXT" -->`` runs it against the server with TLS
and API keys, with ``cert.pem`` in its folder and ``MODELMORA_API_KEY`` set. The
only change is the port: ``localhost:8080`` and ``localhost:8443`` become
the test server's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _support import KEYS, Server

README = Path(__file__).resolve().parents[1] / "README.md"
_EXAMPLE = re.compile(
    r'<!-- (?:expect: (?P<expect>.*?)|run: (?P<server>\w+) expect="(?P<expect2>.*?)") -->\n```python\n(?P<code>.*?)```',
    re.S,
)


def examples() -> list:
    text = README.read_text()
    found = []
    for match in _EXAMPLE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        server = match.group("server") or "open"
        expect = match.group("expect") if match.group("expect") is not None else match.group("expect2")
        found.append(pytest.param(server, expect, match.group("code"), id=f"README.md:{line}"))
    return found


def test_the_readme_has_examples():
    assert len(examples()) >= 6
    # Every ```python block is one the tests run.
    assert README.read_text().count("```python") == len(examples()) + 1  # +1: the sketch at the top


@pytest.mark.parametrize(("server_name", "expect", "code"), examples())
def test_readme_example(server_name, expect, code, request, tmp_path):
    env = {**os.environ}
    env.pop("MODELMORA_API_KEY", None)
    if server_name == "secure":
        target: Server = request.getfixturevalue("secure_server")
        (tmp_path / "cert.pem").write_bytes(Path(target.ca_file).read_bytes())
        env["MODELMORA_API_KEY"] = KEYS["ci"]
    else:
        target = request.getfixturevalue("server")
    script = code.replace("localhost:8080", f"localhost:{target.port}").replace(
        "localhost:8443", f"localhost:{target.port}"
    )
    assert script != code, "the example does not name localhost:8080 or localhost:8443"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert expect in result.stdout, result.stdout
