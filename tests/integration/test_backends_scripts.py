"""The setup scripts refuse clearly, before anything long or privileged starts, when a
prerequisite is missing; ``run.sh`` refuses without the built backends. (Starting the backends
with ``run.sh`` is tested in tests/e2e/test_backends_run.py.)"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _fake_tool(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def _copy(tree: Path, *names: str) -> None:
    for name in names:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name)


def test_install_sh_lists_missing_prerequisites_and_installs_nothing(tmp_path: Path) -> None:
    # A copy of the repository's parts install.sh reads, so that no build or npm stamp exists yet.
    tree = tmp_path / "clone"
    _copy(tree, "scripts/backends/install.sh", "scripts/backends/versions.sh",
          "collector-config/manifest.yaml", "tests/dashboards/package-lock.json")
    fake = tmp_path / "bin"
    fake.mkdir()
    # Too old, and unusable for anything else: a failed check can never start a build.
    _fake_tool(fake, "go", '[ "$1 $2" = "env GOVERSION" ] && { echo go1.19.1; exit 0; }; exit 1')
    _fake_tool(fake, "node", '[ "$1" = "--version" ] && { echo v16.20.0; exit 0; }; exit 1')
    _fake_tool(fake, "npm", "exit 1")
    cache = tmp_path / "cache"
    done = subprocess.run(["bash", str(tree / "scripts/backends/install.sh")], capture_output=True, text=True,
                          timeout=60, check=False,
                          env={**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}",
                               "LLMLEDGER_BACKENDS_CACHE": str(cache)})
    assert done.returncode == 1
    assert "missing prerequisites (nothing was installed)" in done.stderr
    assert "Go >= 1.24 is needed to build the collector and Jaeger; found go 1.19.1" in done.stderr
    assert "Node.js >= 18 is needed for the dashboard type-check; found 16.20.0" in done.stderr
    assert sorted(path.name for path in cache.iterdir()) == [".install.lock", "bin", "tools"]
    assert not any((cache / "bin").iterdir()) and not any((cache / "tools").iterdir())
    assert not (tree / "tests/dashboards/node_modules").exists()


def test_run_sh_refuses_without_the_built_backends(tmp_path: Path) -> None:
    env = {**os.environ, "LLMLEDGER_BACKENDS_CACHE": str(tmp_path / "cache"),
           "LLMLEDGER_PROMETHEUS_BIN": str(tmp_path / "no-prometheus")}
    for name in ("LLMLEDGER_OTELCOL_BIN", "LLMLEDGER_JAEGER_BIN", "LLMLEDGER_BACKENDS_RUN_DIR"):
        env.pop(name, None)
    run_sh = str(ROOT / "scripts/backends/run.sh")
    start = subprocess.run(["bash", run_sh, "start"], env=env, capture_output=True, text=True, timeout=60)
    assert start.returncode == 1
    assert "jaeger not found" in start.stderr and "bash scripts/backends/install.sh" in start.stderr
    assert not (tmp_path / "cache" / "run").exists() or not any((tmp_path / "cache" / "run").glob("*.pid"))
    status = subprocess.run(["bash", run_sh, "status"], env=env, capture_output=True, text=True, timeout=60)
    assert status.returncode == 0 and status.stdout.count(" not running") == 3
    usage = subprocess.run(["bash", run_sh], env=env, capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "start|stop|status" in usage.stderr


def test_env_sh_refuses_a_missing_python(tmp_path: Path) -> None:
    done = subprocess.run(["bash", str(ROOT / "scripts/env.sh")], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHON": str(tmp_path / "python3.9")})
    assert done.returncode == 1
    assert "Python >= 3.10 is needed" in done.stderr and "set PYTHON=" in done.stderr
