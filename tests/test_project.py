"""Facts kept in one place stay consistent: pyproject.toml's ranges hold the exact pins of
requirements*.txt, the package's version and Dask requirement are pyproject.toml's own."""

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

import colorize
from colorize.batch import DASK_REQUIREMENT

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]


def pins(path):
    """{name: exact version} of a requirements file and the files it includes (-r)."""
    found = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found |= pins(path.parent / line[3:].strip())
        elif line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"{path.name}: {line} is not an exact pin"
            found[req.name.lower()] = spec.version
    return found


def test_pyproject_ranges_hold_the_pinned_versions_and_pin_nothing_exactly():
    pinned = pins(ROOT / "requirements-test.txt")
    declared = [Requirement(r) for r in PROJECT["dependencies"]]
    declared += [Requirement(r) for extra in PROJECT["optional-dependencies"].values() for r in extra]
    for req in declared:
        assert req.name.lower() in pinned, f"{req.name} is in pyproject.toml but pinned in no requirements file"
        assert pinned[req.name.lower()] in req.specifier, f"the pin {pinned[req.name.lower()]} is outside {req}"
        assert all(s.operator != "==" for s in req.specifier), f"{req}: exact pins belong in requirements*.txt"


def test_runtime_requirements_are_the_package_dependencies_and_the_app_extra():
    runtime = set(pins(ROOT / "requirements.txt"))
    declared = {Requirement(r).name.lower() for r in PROJECT["dependencies"] + PROJECT["optional-dependencies"]["app"]}
    assert runtime == declared


def test_version_and_dask_requirement_come_from_pyproject():
    assert colorize.__version__ == PROJECT["version"]
    assert [DASK_REQUIREMENT] == PROJECT["optional-dependencies"]["cluster"]


def lowest_python(specifier):
    """The lowest Python 3 minor version a Requires-Python specifier admits, as (3, minor)."""
    spec = SpecifierSet(specifier or "")
    return next((3, minor) for minor in range(0, 100) if spec.contains(f"3.{minor}", prereleases=True))


def test_requires_python_is_the_lowest_that_every_pinned_dependency_supports():
    pinned = pins(ROOT / "requirements.txt") | pins(ROOT / "requirements-test.txt")
    names = [Requirement(r).name for r in PROJECT["dependencies"]]
    names += [Requirement(r).name for extra in PROJECT["optional-dependencies"].values() for r in extra]
    lowest = {}
    for name in names:
        installed = metadata.metadata(name)
        assert installed["Version"] == pinned[name.lower()], f"{name} {installed['Version']} is installed, not the pin"
        lowest[name] = lowest_python(installed.get("Requires-Python"))
    needed = max(lowest.values())
    assert lowest_python(PROJECT["requires-python"]) == needed, f"the pins need Python {needed}: {lowest}"
