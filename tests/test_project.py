"""Facts kept in one place stay consistent: pyproject.toml's ranges hold the exact pins of
requirements*.txt, the package's version and Dask requirement are pyproject.toml's own, and it
installs every package. The package's imports go one way: the engine imports nothing above it,
colorize.batch and colorize.video only the engine, with no circles, and Dask only colorize.batch.cluster."""

import ast
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

import colorize
from colorize.batch.cluster import DASK_REQUIREMENT
from helpers import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
PROJECT = PYPROJECT["project"]


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


def test_every_package_is_installed_and_the_bundled_model_as_colorize_package_data():
    setuptools = PYPROJECT["tool"]["setuptools"]
    packages = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "colorize").rglob("__init__.py")}
    models = {f"colorize.models.{d.name}" for d in (ROOT / "models").iterdir() if d.is_dir()}
    assert set(setuptools["packages"]) == packages | {"colorize.models"} | models
    assert setuptools["package-dir"] == {"colorize.models": "models"}  # where colorize.model.models_dir looks


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


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path, modules):
    """(the colorize modules, the other top-level packages) that the file at `path` imports, anywhere in it."""
    name = module_name(path)
    package = (name if path.name == "__init__.py" else name.rpartition(".")[0]).split(".")
    inside, outside = set(), set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) + 1 - node.level] if node.level else [])
            base = ".".join(b for b in (base, node.module) if b)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        inside |= {t for t in targets if t in modules}
        outside |= {t.split(".")[0] for t in targets if not t.startswith("colorize")}
    return inside, outside


def test_imports_go_one_way_with_no_circles_and_dask_in_one_file():
    files = sorted((ROOT / "colorize").rglob("*.py"))
    graph = {module_name(f): imports_of(f, {module_name(f) for f in files}) for f in files}
    above = {"colorize", "colorize.__main__", "colorize.cli", "colorize.progress"}
    engine = {module_name(f) for f in files if f.parent.name == "colorize"} - above
    for name, (inside, outside) in graph.items():
        if name in engine:
            assert inside <= engine, f"{name} imports {inside - engine}: the engine imports nothing above it"
        for wing in ("colorize.batch", "colorize.video"):
            own = {m for m in graph if m.startswith(wing)}
            if name in own:
                assert inside <= engine | own, f"{name} imports {inside - engine - own}: only the engine"
        if name != "colorize.batch.cluster":
            assert not outside & {"dask", "distributed"}, f"{name} imports Dask"
    assert {"dask", "distributed"} <= graph["colorize.batch.cluster"][1]
    done, path = set(), []

    def visit(name):
        assert name not in path, "import circle: " + " -> ".join([*path[path.index(name) :], name])
        if name not in done:
            path.append(name)
            for other in sorted(graph[name][0]):
                visit(other)
            path.pop()
            done.add(name)

    for name in sorted(graph):
        visit(name)
