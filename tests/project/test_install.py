"""The README's install commands, .ci/run and the locks agree with each other."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def readme_command(after: str) -> str:
    """The first fenced shell line that follows the sentence ``after`` in README."""
    match = re.search(re.escape(after) + r".*?```bash\n(.+?)\n", README, flags=re.S)
    assert match, f"README has no command after {after!r}"
    return match.group(1).strip()


def requirement_lines(path: Path) -> list[str]:
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("-")]


def test_ci_runs_the_readme_test_command_in_a_fresh_environment():
    command = readme_command("Install and run the tests")
    ci = (ROOT / ".ci" / "run").read_text()
    assert command in ci.splitlines()
    assert "python3 -m venv" in ci and "mktemp" in ci  # a new environment each run
    assert "locks/dev.txt" in command


def test_readme_commands_install_from_the_locks():
    assert "locks/app.txt" in readme_command("Install and start the app")
    assert "locks/app-test.txt" in readme_command("Dashboard contributors")


@pytest.mark.parametrize(
    "name",
    [
        "requirements.txt",
        "requirements-gpu.txt",
        "requirements-train.txt",
        "requirements-app-test.txt",
        "requirements-dev.txt",
    ],
)
def test_every_direct_dependency_is_bounded_at_its_next_major(name):
    for line in requirement_lines(ROOT / name):
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9][0-9.]*),<([0-9]+)", line)
        assert match, f"{name}: {line!r} needs a lower bound and an upper one at a major"
        lower_major = int(match.group(2).split(".")[0])
        assert int(match.group(3)) > lower_major, line


def direct_names(path: Path) -> set[str]:
    """Names required by ``path`` and the files it includes with ``-r`` (extras such as
    ``ray[data]`` left off: the lock pins the package)."""
    names = {re.split(r"[<>=\[]", line)[0].lower() for line in requirement_lines(path)}
    for included in re.findall(r"^-r (\S+)", path.read_text(), flags=re.M):
        names |= direct_names(path.parent / included)
    return names


def _pins(lock: Path) -> dict[str, set[str]]:
    pins: dict[str, set[str]] = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)==([^ ;]+)", line)
        if match:
            pins.setdefault(match.group(1).lower(), set()).add(match.group(2))
    return pins


def test_locks_pin_every_direct_dependency_and_agree():
    dev = _pins(ROOT / "locks" / "dev.txt")
    for lock_name, requirements in (
        ("dev.txt", "requirements-dev.txt"),
        ("app-test.txt", "requirements-app-test.txt"),
        ("app.txt", "requirements.txt"),
    ):
        pins = _pins(ROOT / "locks" / lock_name)
        missing = [name for name in direct_names(ROOT / requirements) if name not in pins]
        assert not missing, f"locks/{lock_name} lacks {missing}"
        for name, versions in pins.items():
            assert versions == dev[name], f"{lock_name}: {name} {versions}, dev {dev[name]}"
    assert "tensorflow" not in _pins(ROOT / "locks" / "app-test.txt")
    assert "tensorflow" not in _pins(ROOT / "locks" / "app.txt")
