"""The package layout is the architecture: subpackages in layer order, imports only downward, light entry points."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import fasutils
from fasutils.cli import build_parser

PACKAGE = Path(fasutils.__file__).parent
MAX_MODULE_LINES = 400


def _modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).glob("*.py"))


def _fasutils_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every fasutils import in ``path``, also those inside functions and TYPE_CHECKING blocks."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] if node.module == "fasutils" else [node.module]
            found += [(node.lineno, name) for name in names if name.startswith("fasutils.")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("fasutils.")]
    return found


def _upward(layer: str, imported: str) -> bool:
    target = imported.split(".")[1]
    return target in fasutils.LAYERS and fasutils.LAYERS.index(target) > fasutils.LAYERS.index(layer)


def _fresh_import(code: str) -> list[str]:
    """The fasutils and heavy third-party modules loaded by ``code`` in a new interpreter."""
    probe = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_every_subpackage_is_a_layer_and_every_module_sits_in_one():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert folders == set(fasutils.LAYERS)
    assert {p.name for p in PACKAGE.glob("*.py")} == {"__init__.py", "__main__.py", "cli.py"}


@pytest.mark.parametrize("layer", fasutils.LAYERS)
def test_no_import_runs_back_up_the_layer_order(layer):
    upward = [f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
              for path in _modules(layer) for line, name in _fasutils_imports(path) if _upward(layer, name)]
    assert not upward


def test_the_check_catches_an_upward_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from fasutils.models.architecture import minifasnet\n", encoding="utf-8")
    assert [_upward("data", name) for _, name in _fasutils_imports(module)] == [True]
    assert [_upward("training", name) for _, name in _fasutils_imports(module)] == [False]


@pytest.mark.parametrize("layer", fasutils.LAYERS)
def test_importing_a_layer_loads_nothing_from_the_layers_above(layer):
    modules = " ".join(f"fasutils.{layer}.{p.stem}" for p in _modules(layer) if p.stem != "__init__")
    loaded = _fresh_import(f"import importlib\nfor m in '{modules}'.split(): importlib.import_module(m)")
    above = {m for m in loaded if m.startswith("fasutils.") and _upward(layer, m)}
    assert not above


@pytest.mark.parametrize("module", ["fasutils.evaluation.metrics", "fasutils.evaluation.rates"])
def test_metrics_compute_without_matplotlib_or_torch(module):
    loaded = set(_fresh_import(f"import {module}"))
    assert not loaded & {"matplotlib", "torch"}


def test_the_command_line_help_imports_no_heavy_library():
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "fasutils", "--help"], capture_output=True,
                            text=True, check=True)
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.count("|") == 2}
    assert "fasutils.cli" in imported and "usage:" in result.stdout
    assert not imported & {"torch", "onnxruntime", "onnx", "matplotlib", "pandas", "sklearn"}


def test_package_exports_resolve_lazily_to_their_modules():
    for layer in fasutils.LAYERS:
        package = __import__(f"fasutils.{layer}", fromlist=["__all__"])
        for name in package.__all__:
            assert getattr(package, name) is not None, f"fasutils.{layer}.{name}"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        fasutils.detection.nothing  # noqa: B018


def test_no_module_is_longer_than_the_limit():
    lengths = {str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines())
               for p in PACKAGE.rglob("*.py")}
    assert {name: n for name, n in lengths.items() if n > MAX_MODULE_LINES} == {}


def test_the_command_line_choices_are_the_defining_modules_lists():
    from fasutils.data.formats import FORMATS
    from fasutils.detection.detectors import DETECTORS
    from fasutils.evaluation.rates import RULES

    commands = build_parser()._subparsers._group_actions[0].choices
    choices = {(name, a.dest): tuple(a.choices) for name, c in commands.items() for a in c._actions if a.choices}
    assert choices[("predict", "detector")] == DETECTORS
    assert choices[("evaluate", "rule")] == RULES
    assert choices[("evaluate", "format")] == FORMATS
