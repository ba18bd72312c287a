"""The architecture of the card, enforced: the import-linter contracts of pyproject.toml
(``[tool.importlinter]``: the kernel imports no extension, the applets reach extensions only
through the kernel's ports, the card never imports the host tools, the HTTPS test SM-SR imports
none of the card's OTA / SGP.02 code, no module import cycle with
type-only imports counted) are kept.  The other tests prove the checks themselves catch what they
are meant to (known answers on small graphs and packages written here)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grimp

from tests.architecture.acyclic_modules import AcyclicModulesContract

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, config: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(cwd), str(ROOT)])}
    args = [str(LINT_IMPORTS), "--no-cache"] + (["--config", str(config)] if config else [])
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_import_contracts_are_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


def test_a_type_only_import_into_a_forbidden_module_breaks_a_contract(tmp_path):
    """import-linter counts ``if TYPE_CHECKING:`` imports (exclude_type_checking_imports unset)."""
    pkg = tmp_path / "kern"
    (pkg / "ext").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "ext" / "__init__.py").write_text("")
    (pkg / "core.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import kern.ext\n")
    config = tmp_path / "setup.cfg"
    config.write_text("[importlinter]\nroot_package = kern\n\n[importlinter:contract:k]\nname = k\n"
                      "type = forbidden\nsource_modules = kern.core\nforbidden_modules = kern.ext\n")
    result = _lint(tmp_path, config)
    assert result.returncode == 1 and "kern.core is not allowed to import kern.ext" in result.stdout


def _check(edges: list[tuple[str, str]]):
    graph = grimp.ImportGraph()
    for importer, imported in edges:
        graph.add_module(importer)
        graph.add_module(imported)
        graph.add_import(importer=importer, imported=imported)
    contract = AcyclicModulesContract("acyclic", {}, {"containers": ["p"]})
    return contract.check(graph, verbose=False)


def test_the_cycle_contract_reports_each_cycle_shortest_first():
    check = _check([("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.b", "p.a"),
                    ("p.x", "p.y"), ("p.y", "p.x"), ("p.d", "p.a")])
    assert not check.kept
    assert sorted(check.metadata["cycles"]) == [["p.a", "p.b", "p.a"], ["p.x", "p.y", "p.x"]]


def test_the_cycle_contract_keeps_a_graph_with_no_cycle_and_ignores_other_packages():
    check = _check([("p.a", "p.b"), ("p.b", "p.c"), ("p.a", "p.c"), ("q.a", "p.a"), ("p.c", "q.a")])
    assert check.kept and check.metadata["cycles"] == []
