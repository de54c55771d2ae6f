"""The built wheel serves the chat page with no source tree: templates, static files and
calibration ship as package data.

The wheel is installed without its dependencies into a fresh virtualenv that borrows the
project environment's installed packages through a path file, so the test needs no network
and takes seconds. Path files inside borrowed folders are not run, so the project's
editable install of peruqa stays out: only the wheel's copy can be imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

from conftest import PROJECT, free_port

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_wheel_installs_and_serves_health_and_page(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        PROJECT,
        "--no-deps",
        "--no-build-isolation",
        "--quiet",
        "-w",
        wheels,
    )
    (wheel,) = wheels.glob("peruqa-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--quiet", wheel)

    where = _run(python, "-c", "import peruqa.web.assets as a; print(a.__file__)", cwd=tmp_path)
    assert str(venv) in where and str(PROJECT / "src") not in where

    env = {
        **os.environ,
        "PERUQA_MODEL": "fake",
        "PERUQA_FIRST_STAGE_MODEL": "none",
        "PERUQA_SOURCE_DIR": str(tmp_path / "docs"),
        "PERUQA_INDEX_DIR": str(tmp_path / "index"),
        "PERUQA_DATA_DIR": str(tmp_path / "data"),
        "HF_HUB_OFFLINE": "1",
    }
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "note.md").write_text("# Note\n\nThe office in Cusco opened in 1991.\n")
    peruqa = venv / "bin" / "peruqa"
    subprocess.run([peruqa, "index"], cwd=tmp_path, env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [peruqa, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the installed server did not start"
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["index_loaded"] is True
        page = httpx.get(f"{base}/", params={"q": "When did the office in Cusco open?"})
        assert page.status_code == 200 and "1991" in page.text
        assert httpx.get(f"{base}/static/style.css").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
