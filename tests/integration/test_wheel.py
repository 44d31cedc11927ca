"""The wheel holds every first-party package: installed alone, `api.main` and `worker` import.

The wheel is built from this checkout and installed with --no-deps into a fresh venv whose
third-party packages come from the project's own environment (a .pth line naming its
site-packages). The source tree is never on that venv's path: the editable install's own .pth
sits in the project's site-packages, and Python reads .pth files only in a venv's own site
directory, not in a directory a .pth line adds. So a package the wheel leaves out fails to import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = """
import sys
import api.main, worker
for module in (api.main, worker, sys.modules["codec"], sys.modules["domain"]):
    print(module.__file__)
"""


def _run(*args: str | Path, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_alone_imports_the_api_and_the_worker(tmp_path: Path) -> None:
    dist, venv, elsewhere = tmp_path / "dist", tmp_path / "venv", tmp_path / "cwd"
    elsewhere.mkdir()
    _run("uv", "build", "--wheel", "--out-dir", dist, ROOT, cwd=ROOT)
    [wheel] = dist.glob("*.whl")
    _run("uv", "venv", "--python", sys.executable, venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run(python, "-c", purelib, cwd=elsewhere).strip())
    (site / "project_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run("uv", "pip", "install", "--python", python, "--no-deps", wheel, cwd=tmp_path)

    files = [Path(line) for line in _run(python, "-c", CHECK, cwd=elsewhere).split()]
    # Every module came from the installed wheel, none from this checkout.
    assert len(files) == 4 and all(f.is_relative_to(site) for f in files), files
