"""Ready to publish: `python -m build` makes an sdist and a wheel of this checkout that
`twine check --strict` accepts; the wheel holds the package and its metadata only."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from mcp_livechat.version import __version__
from tests.e2e.toolchain import REPO

DIST_INFO = f"mcp_livechat-{__version__}.dist-info"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out_dir = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out_dir), str(REPO)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels, sdists = list(out_dir.glob("*.whl")), list(out_dir.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(out_dir.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def test_twine_accepts_both(dist: dict[str, Path]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist["wheel"]), str(dist["sdist"])],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0 and out.stdout.count("PASSED") == 2, out.stdout + out.stderr


def test_the_wheel_holds_the_package_only(dist: dict[str, Path]) -> None:
    assert dist["wheel"].name == f"mcp_livechat-{__version__}-py3-none-any.whl"
    wheel = zipfile.ZipFile(dist["wheel"])
    names = wheel.namelist()
    assert {n.split("/", 1)[0] for n in names} == {"mcp_livechat", DIST_INFO}  # no tests, bench, docs
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "mcp_livechat/py.typed" in names and "mcp_livechat/sandbox/constants.py" in names
    assert f"{DIST_INFO}/licenses/LICENSE" in names
    meta = Parser().parsestr(wheel.read(f"{DIST_INFO}/METADATA").decode())
    assert meta["Version"] == __version__ and meta["License-Expression"] == "Apache-2.0"
    assert meta["Requires-Python"] == ">=3.11"
    entry_points = wheel.read(f"{DIST_INFO}/entry_points.txt").decode()
    assert "mcp-livechat = mcp_livechat.cli:main" in entry_points


def test_the_sdist_builds_the_same_project(dist: dict[str, Path]) -> None:
    root = f"mcp_livechat-{__version__}"
    with tarfile.open(dist["sdist"]) as sdist:
        names = set(sdist.getnames())
    for shipped in ("pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE", "manifest.json", "uv.lock"):
        assert f"{root}/{shipped}" in names, shipped
    assert f"{root}/mcp_livechat/version.py" in names and f"{root}/tests/conftest.py" in names
    assert not [n for n in names if "__pycache__" in n or "/.venv" in n or n.endswith(".pyc")]
