"""environment.yml and pyproject.toml must ask for the same things, and the pins that matter must hold."""

import tomllib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from fasutils.core.paths import project_root


def _canonical(requirement: str) -> str:
    parsed = Requirement(requirement)
    extras = f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
    marker = f"; {parsed.marker}" if parsed.marker else ""
    return f"{canonicalize_name(parsed.name)}{extras}{parsed.specifier}{marker}"  # specifier prints sorted


def pyproject_requirements(text: str) -> set[str]:
    project = tomllib.loads(text)["project"]
    extras = [r for group in project.get("optional-dependencies", {}).values() for r in group]
    return {_canonical(r) for r in project["dependencies"] + extras}


def environment_requirements(text: str) -> set[str]:
    pip_sections = [d["pip"] for d in yaml.safe_load(text)["dependencies"] if isinstance(d, dict) and "pip" in d]
    return {_canonical(r) for section in pip_sections for r in section if not r.startswith("-")}


def environment_python(text: str) -> str:
    return next(d.split("=", 1)[1] for d in yaml.safe_load(text)["dependencies"]
                if isinstance(d, str) and d.startswith("python="))


@pytest.fixture(scope="module")
def texts() -> tuple[str, str]:
    root = project_root()
    return (root / "pyproject.toml").read_text(), (root / "environment.yml").read_text()


def test_environment_yml_lists_exactly_the_pyproject_requirements(texts):
    pyproject, environment = texts
    from_pyproject, from_environment = pyproject_requirements(pyproject), environment_requirements(environment)
    assert from_pyproject == from_environment, (
        f"only in pyproject.toml: {sorted(from_pyproject - from_environment)}; "
        f"only in environment.yml: {sorted(from_environment - from_pyproject)}")


def test_the_comparison_catches_a_changed_pin(texts):
    pyproject, environment = texts
    assert pyproject_requirements(pyproject) != environment_requirements(environment.replace("nbval==0.11.0", "nbval"))
    without_pandas = environment.replace("      - pandas>=2.2,<4\n", "")
    assert pyproject_requirements(pyproject) != environment_requirements(without_pandas)


def test_both_name_the_same_python(texts):
    pyproject, environment = texts
    requires = tomllib.loads(pyproject)["project"]["requires-python"]
    assert environment_python(environment) == "3.11"
    assert Requirement(f"python{requires}").specifier.contains("3.11.7")
    assert not Requirement(f"python{requires}").specifier.contains("3.12.0")


def test_the_pins_that_matter(texts):
    requirements = {Requirement(r).name: Requirement(r) for r in tomllib.loads(texts[0])["project"]["dependencies"]}
    assert str(requirements["torch"].specifier) == "==2.13.0", "a torch range pulls a multi-GB CUDA build"
    assert "torchvision" not in requirements, "PyPI's torchvision does not import beside the local torch"
    assert requirements["numpy"].specifier.contains("2.4.6") and not requirements["numpy"].specifier.contains("2.5.0")
    opencv = requirements["opencv-python-headless"].specifier
    assert opencv.contains("4.14.0") and not opencv.contains("5.0.0"), "pin OpenCV's major version"
    extras = tomllib.loads(texts[0])["project"]["optional-dependencies"]
    tests = {Requirement(r).name: Requirement(r) for r in extras["test"]}
    assert not tests["pytest"].specifier.contains("10.0"), "nbval 0.11 needs pytest's legacypath plugin"
