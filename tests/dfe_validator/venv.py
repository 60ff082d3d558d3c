"""A private virtual environment for the DfE SSDA903 validator, which pins pandas < 2 and numpy < 1.25 and so
cannot share the warehouse's environment. Built once per requirements.lock, reused until the lock changes."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
LOCK = HERE / "requirements.lock"
RUNNER = HERE / "run_validator.py"


def validator_python() -> Path:
    """The python of the validator's venv under .cache/dfe-validator/<lock hash>/, creating it if needed."""
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:12]
    root = REPO / ".cache" / "dfe-validator"
    venv = root / digest
    python = venv / "bin" / "python"
    done = venv / ".installed"  # written last, so a venv left half-built by a killed run is rebuilt
    if done.exists():
        return python
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{digest}.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # other pytest workers wait here, then find it built
        if not done.exists():
            shutil.rmtree(venv, ignore_errors=True)
            base = shutil.which("python3.11") or "python3"  # the lock is compiled for 3.11: pandas 1.5 stops there
            subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
            subprocess.run([str(REPO / ".venv" / "bin" / "uv"), "pip", "install", "--quiet", "--require-hashes",
                            "-r", str(LOCK), "--python", str(python)], check=True)
            done.write_text(LOCK.read_text())
    return python
