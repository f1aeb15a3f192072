"""Debian tools the bench needs (wrk), installed with apt-get when missing."""

from __future__ import annotations

import shutil
import subprocess


def ensure_debian_tool(binary: str, package: str) -> str:
    """The path of `binary`, installing `package` first when it is missing (says so)."""
    found = shutil.which(binary)
    if found:
        return found
    print(f"{binary} is missing: installing Debian's {package} (apt-get install -y {package})", flush=True)
    install = ["apt-get", "install", "-y", "-q", package]
    if subprocess.run(install, stdout=subprocess.DEVNULL, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL, check=True)
        subprocess.run(install, stdout=subprocess.DEVNULL, check=True)
    found = shutil.which(binary)
    if not found:
        raise RuntimeError(f"{package} installed but {binary} is not on PATH")
    return found
