"""Every command in README.md runs as written, in a fresh clone named ``llmledger``.

The README's fenced ``bash`` and ``console`` blocks are split into commands; each must have an entry
in ``SHELL`` (a new command without one fails ``test_every_readme_command_has_a_check``, and so does
an entry whose command left the README). ``RUN`` commands are run, in README order, in a
``git clone`` of this repository (plus any uncommitted changes to tracked files) in a temporary
folder named ``llmledger``, with the repository's ``.venv`` reused (symlinked, on ``PATH`` and as
``VIRTUAL_ENV``: nothing is reinstalled). The OpenAI SDK is pointed at the local fake provider by
its own ``OPENAI_BASE_URL`` variable, as a user would point it at a proxy. Commands that need
Docker, a 27-minute build or fixed ports are ``NotRun``: the reason says which other test covers
them, and what this test checks of them instead (the script exists and parses).

``python`` blocks: the 30-second example is run as the app; the fragments (``...``, names of the
reader's own app) are compiled. ``yaml`` blocks are loaded with ``load_config``, as ``init()``
would; the 30-second example's block is the clone's ``llmledger.yaml``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from llmledger.config import load_config

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RUN = "run"


@dataclass(frozen=True)
class NotRun:
    reason: str


SHELL: dict[str, str | NotRun] = {
    "bash scripts/demo.sh": RUN,
    "bash scripts/test.sh": NotRun("the whole suite, which this test is part of (CI runs it as .ci/run)"),
    'pip install ".[openai]"': NotRun(
        "installs into the reader's environment: tests/integration/test_clean_venv.py installs the "
        "repository with openai into a new virtualenv and runs an instrumented app there"),
    "llmledger report --config llmledger.yaml": RUN,
    "llmledger doctor --config llmledger.yaml": RUN,
    "llmledger price --provider anthropic --model claude-sonnet-4-5 --input 50000 --output 1000": RUN,
    "llmledger report": RUN,
    "llmledger report --by model --month 2026-10": RUN,
    "llmledger report --customer cust-123 --by day --since 2026-10-01 --until 2026-10-15": RUN,
    "llmledger report --format json > margins.json": RUN,
    "llmledger report --what-if claude-sonnet-4-6=claude-haiku-4-5": RUN,
    "llmledger report --format html > margins.html": RUN,
    "llmledger doctor": RUN,
    "docker compose up -d": NotRun("needs Docker, which CI does not have; docker-compose.yml must parse"),
    "bash scripts/demo.sh --otlp-endpoint http://127.0.0.1:4317": NotRun(
        "needs a collector on the fixed port 4317 (which may belong to someone else on a shared "
        "machine): tests/unit/cli/test_demo_run.py runs the demo against an OTLP receiver"),
    "bash scripts/backends/install.sh": NotRun(
        "builds for ~27 min the first time: scripts/test.sh runs it before pytest, and "
        "tests/integration/test_backends_scripts.py tests its prerequisite check"),
    "bash scripts/backends/run.sh start": NotRun(
        "binds fixed ports: tests/e2e/test_backends_run.py runs start/status/stop on free ports and "
        "fills the stack with the demo; tests/integration/test_backends_scripts.py checks its refusals"),
    "bash scripts/backends/run.sh stop": NotRun("see run.sh start"),
}
RUN_PYTHON_BLOCK = "import llmledger\nfrom openai import OpenAI"  # how the 30-second example starts


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    section: str


def readme_blocks() -> list[Block]:
    blocks, section, lines = [], "", README.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("## "):
            section = line[3:].strip()
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence:
            end = lines.index("```", index + 1)
            blocks.append(Block(fence.group(1), "\n".join(lines[index + 1:end]), section))
            index = end
        index += 1
    return blocks


def _without_comment(line: str) -> str:
    return re.sub(r"\s+#\s.*$", "", line).strip()


def shell_commands() -> list[tuple[str, str | None]]:
    """(command, expected output or None) for every command of the bash and console blocks."""
    commands: list[tuple[str, str | None]] = []
    for block in readme_blocks():
        if block.lang == "bash":
            commands += [(_without_comment(line), None) for line in block.text.splitlines()
                         if line.strip() and not line.lstrip().startswith("#")]
        elif block.lang == "console":
            for chunk in re.split(r"^\$ ", block.text, flags=re.MULTILINE)[1:]:
                command, _, output = chunk.partition("\n")
                commands.append((command.strip(), output))
    return commands


def test_every_readme_command_has_a_check() -> None:
    in_readme = [command for command, _ in shell_commands()]
    unchecked = [command for command in in_readme if command not in SHELL]
    assert not unchecked, f"README commands without an entry in SHELL (run, or say why not): {unchecked}"
    stale = set(SHELL) - set(in_readme)
    assert not stale, f"SHELL entries no longer in the README: {sorted(stale)}"
    langs = {block.lang for block in readme_blocks()}
    assert langs <= {"", "bash", "console", "python", "yaml"}, f"a block this test cannot check: {langs}"


def test_every_yaml_block_is_a_valid_config(tmp_path: Path) -> None:
    blocks = [block for block in readme_blocks() if block.lang == "yaml"]
    assert len(blocks) >= 3
    for number, block in enumerate(blocks):
        path = tmp_path / f"block{number}.yaml"
        path.write_text(block.text, encoding="utf-8")
        load_config(path, env={})  # raises ConfigError naming the key when the README is wrong


def test_every_python_fragment_compiles() -> None:
    blocks = [block for block in readme_blocks() if block.lang == "python"]
    assert any(block.text.startswith(RUN_PYTHON_BLOCK) for block in blocks)
    for block in blocks:
        compile(block.text, f"README.md ({block.section})", "exec")


def test_commands_not_run_exist_and_parse() -> None:
    for command, check in SHELL.items():
        if not isinstance(check, NotRun):
            continue
        assert check.reason
        words = command.split()
        if words[0] == "bash":
            script = ROOT / words[1]
            assert script.is_file(), command
            subprocess.run(["bash", "-n", str(script)], check=True)
        elif words[:2] == ["docker", "compose"]:
            assert "services" in yaml.safe_load((ROOT / "docker-compose.yml").read_text())
        else:
            assert words[:2] == ["pip", "install"] and (ROOT / "pyproject.toml").is_file(), command


# ---- the README, run in a fresh clone ------------------------------------------------------------------
@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = Path(sys.prefix)
    assert (venv / "bin" / "llmledger").exists(), "run bash scripts/env.sh first"
    folder = tmp_path_factory.mktemp("readme") / "llmledger"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(folder)], check=True)
    changed = subprocess.run(["git", "-C", str(ROOT), "diff", "--name-only", "HEAD"], check=True,
                             capture_output=True, text=True).stdout.split()
    for name in changed:  # what is being tested is the working tree, not only the last commit
        source, target = ROOT / name, folder / name
        if source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        else:
            target.unlink(missing_ok=True)
    (folder / ".venv").symlink_to(venv, target_is_directory=True)
    return folder


@pytest.fixture(scope="module")
def environment(clone: Path, fake_provider: object) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("LLMLEDGER_", "OTEL_", "OPENAI_"))}
    bin_dir = clone / ".venv" / "bin"
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(clone / ".venv"),
               OPENAI_BASE_URL=f"{fake_provider.url}/v1", OPENAI_API_KEY="readme-test-key",  # type: ignore[attr-defined]
               PYTHONIOENCODING="utf-8", NO_COLOR="1")
    return env


def _outside_venv(env: dict[str, str]) -> dict[str, str]:
    """No virtualenv active and none on PATH: how the scripts are run from a fresh clone."""
    bare = {key: value for key, value in env.items() if key != "VIRTUAL_ENV"}
    bare["PATH"] = os.pathsep.join(part for part in env["PATH"].split(os.pathsep)
                                   if not (Path(part) / "llmledger").exists())
    return bare


def _sh(command: str, clone: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, f"`{command}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def ran(clone: Path, environment: dict[str, str]) -> Iterator[dict[str, subprocess.CompletedProcess[str]]]:
    """Runs the README top to bottom: the RUN commands, the 30-second example's config and app."""
    # env.sh would reinstall into the shared .venv if its stamp did not match this tree: refuse instead.
    stamp = (clone / ".venv" / ".llmledger-installed").read_text().strip()
    wanted = subprocess.run("cat pyproject.toml constraints.txt requirements-dev.txt | sha256sum | cut -d' ' -f1",
                            shell=True, cwd=clone, capture_output=True, text=True, check=True).stdout.strip()
    assert stamp == wanted, ".venv is out of date for this tree: run bash scripts/env.sh first"
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    example = [block for block in readme_blocks() if block.section == "30-second example"]
    config = next(block for block in example if block.lang == "yaml")
    app = next(block for block in example if block.lang == "python")
    for command, _ in shell_commands():
        if command == "llmledger report --config llmledger.yaml":  # the example's app runs first
            (clone / "llmledger.yaml").write_text(config.text + "\n", encoding="utf-8")
            (clone / "app.py").write_text(app.text + "\n", encoding="utf-8")
            results["app.py"] = _sh("python app.py", clone, environment, timeout=120)
        if SHELL[command] == RUN:
            # the scripts from a plain shell; `llmledger ...` with .venv/bin on PATH (README: activate)
            env = _outside_venv(environment) if command.startswith("bash ") else environment
            results[command] = _sh(command, clone, env)
    yield results


def test_the_demo_shows_the_losing_customer_and_working_hints(
        ran: dict[str, subprocess.CompletedProcess[str]], clone: Path, environment: dict[str, str]) -> None:
    out = ran["bash scripts/demo.sh"].stdout
    assert "calling OpenAI and Anthropic through their real SDKs" in out
    assert re.search(r"^!\s+brightline-legal\s+starter\b.*-\$", out, flags=re.MULTILINE)
    assert "failed as the scenario scripts: rate-limit error (HTTP 429)" in out
    # the sample output the README shows under the command: its opening lines and the punch line
    sample = next(block.text for block in readme_blocks() if block.lang == "" and block.section == "The two commands")
    assert out.splitlines()[:2] == sample.splitlines()[:2]
    punch = next(line for line in sample.splitlines() if line.startswith("brightline-legal pays"))
    assert punch.split(" a summary, ")[0] + " a summary, " in out
    hints = out.split("Look closer:", 1)[1].splitlines()[1:]
    # llmledger is not on PATH after bash scripts/demo.sh: the hints name the .venv's script (here
    # the shared .venv's real path, since the clone's .venv is a symlink to it)
    assert hints and all(re.match(r"  \S*\.venv/bin/llmledger report ", hint) for hint in hints), hints
    by_model = _sh(hints[0].strip(), clone, _outside_venv(environment))  # as printed, nothing activated
    assert "claude-sonnet-4-6" in by_model.stdout


def test_the_30_second_example_reports_a_margin(ran: dict[str, subprocess.CompletedProcess[str]]) -> None:
    row = next(line for line in ran["llmledger report --config llmledger.yaml"].stdout.splitlines()
               if "cust-123" in line)
    # revenue ($19 a month, prorated to the day the ledger covers) and so a margin
    assert re.search(r"starter\s+1\s+[\d,]+\s+\$[\d.]+\s+\$0\.6\d\s+\$0\.6\d\s+\d+\.\d%", row), row
    doctor = ran["llmledger doctor --config llmledger.yaml"].stdout
    ledger_line = next(line for line in doctor.splitlines() if line.split()[1:2] == ["ledger"])
    assert ledger_line.split()[0] == "OK" and "llmledger.db" in ledger_line and "1 call" in ledger_line


def test_the_report_commands(ran: dict[str, subprocess.CompletedProcess[str]], clone: Path) -> None:
    assert "cust-123" in ran["llmledger report"].stdout
    margins = json.loads((clone / "margins.json").read_text())
    assert [row["customer"] for row in margins["rows"]] == ["cust-123"]
    assert Decimal("0.6") < Decimal(margins["rows"][0]["revenue_usd"]) < Decimal("0.7")  # 19 / 28..31
    assert "ledger" in ran["llmledger doctor"].stdout
    assert "What if: claude-sonnet-4-6=claude-haiku-4-5" in ran[
        "llmledger report --what-if claude-sonnet-4-6=claude-haiku-4-5"].stdout
    assert "Content-Security-Policy" in (clone / "margins.html").read_text()


def test_console_blocks_print_what_the_readme_shows(ran: dict[str, subprocess.CompletedProcess[str]]) -> None:
    shown = [(command, output) for command, output in shell_commands() if output is not None]
    assert shown
    for command, output in shown:
        assert ran[command].stdout.rstrip() == output.rstrip(), command
