"""The public API of ``scalpmetrics``: every listed name resolves, lazily."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import scalpmetrics as sm

INIT = Path(sm.__file__)

#: Entry points a user of each workflow needs from the top-level package.
ENTRY_POINTS = [
    "analyze", "load_photo", "photo_from_array", "Params",
    "compare_visits", "compare_analyses", "Comparison", "VisitChange",
    "run_batch", "BatchSummary", "BatchProgress", "load_inputs", "validate_inputs",
    "MarkerSpec", "parse_marker_spec", "find_marker", "find_color_chart", "correct_colors",
    "analyze_global", "compare_global",
]


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_entry_point_is_public(name):
    assert name in sm.__all__
    assert getattr(sm, name) is not None


@pytest.mark.parametrize("name", sm.__all__)
def test_every_public_name_resolves_to_its_module_object(name):
    value = getattr(sm, name)
    if name in sm._LAZY:
        assert value is getattr(importlib.import_module(sm._LAZY[name]), name)


def test_all_lists_every_lazy_name_and_submodule_once():
    assert len(sm.__all__) == len(set(sm.__all__))
    assert set(sm._LAZY) | sm._SUBMODULES <= set(sm.__all__)
    assert set(sm.__all__) <= set(sm._LAZY) | sm._SUBMODULES | {"SCHEMA_VERSION", "__version__"}


def test_type_checking_imports_match_the_lazy_table():
    """The imports type checkers see name the same objects, from the same modules."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If)
                 and isinstance(n.test, ast.Name) and n.test.id == "TYPE_CHECKING")
    seen = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            seen[alias.name] = (node.module if node.module != "scalpmetrics"
                                else f"scalpmetrics.{alias.name}")
    expected = {**sm._LAZY, **{m: f"scalpmetrics.{m}" for m in sm._SUBMODULES}}
    assert seen == expected


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        sm.no_such_thing  # noqa: B018


def test_dir_lists_the_lazy_names():
    assert set(sm.__all__) <= set(dir(sm))


def test_import_is_lazy():
    """``import scalpmetrics`` loads none of the image stack (``--help`` stays fast)."""
    code = ("import sys, scalpmetrics; "
            "print(sorted(m for m in ('numpy', 'cv2', 'skimage', 'scalpmetrics.analysis') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_subpackage_is_packaged():
    """A subpackage missing from pyproject's explicit list is left out of the wheel."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    root = INIT.parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    packaged = set(config["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(root).parts)
             for p in (root / "scalpmetrics").rglob("__init__.py")}
    assert found <= packaged


def _modules() -> list[str]:
    root = INIT.parent
    return sorted(".".join(("scalpmetrics",) + p.with_suffix("").relative_to(root).parts)
                  .removesuffix(".__init__") for p in root.rglob("*.py"))


@pytest.mark.parametrize("module", _modules())
def test_every_name_a_module_exports_exists(module):
    """``from module import *`` fails on a name in ``__all__`` the module lacks."""
    mod = importlib.import_module(module)
    missing = [n for n in getattr(mod, "__all__", ()) if not hasattr(mod, n)]
    assert missing == []
