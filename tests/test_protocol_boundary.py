"""Nothing outside terminal/, sim/ and the protocol packages imports a protocol: a new
protocol then needs only its package and one registry line (terminal/registry.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pi_agent

ROOT = Path(pi_agent.__file__).parent
PROTOCOL_MODULES = ("pi_agent.zvt", "pi_agent.poslink", "pi_agent.terminal.zvt",
                    "pi_agent.terminal.poslink")  # fmt: skip
ALLOWED = ("pi_agent.terminal", "pi_agent.zvt", "pi_agent.poslink", "pi_agent.sim")


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def protocol_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """The protocol modules `source` (the text of `module`) imports, at any depth of the
    file (a lazy import inside a function counts too)."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from ..terminal import zvt` names the module in the alias
            names = [base] if _within(base, PROTOCOL_MODULES) else [
                f"{base}.{alias.name}" for alias in node.names]  # fmt: skip
        found += [n for n in names if _within(n, PROTOCOL_MODULES)]
    return sorted(set(found))


def boundary_violations(root: Path = ROOT) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root)
        if _within(module, ALLOWED):
            continue
        for name in protocol_imports(path.read_text(), module, path.name == "__init__.py"):
            bad.append(f"{path.relative_to(root.parent)} imports {name}")
    return bad


def test_no_module_outside_the_terminal_layer_imports_a_protocol() -> None:
    assert boundary_violations() == []


def test_the_checker_finds_every_way_of_importing_a_protocol() -> None:
    cases = {
        "import pi_agent.zvt.codes": ["pi_agent.zvt.codes"],
        "import os, pi_agent.poslink": ["pi_agent.poslink"],
        "from ..zvt.codes import result_text": ["pi_agent.zvt.codes"],
        "from .. import zvt": ["pi_agent.zvt"],
        "from ..terminal.zvt import ZvtTerminal": ["pi_agent.terminal.zvt"],
        "from ..terminal import zvt": ["pi_agent.terminal.zvt"],
        "def f():\n    from ..poslink import messages": ["pi_agent.poslink"],
        "from pi_agent.sim import SimServer": [],
        "from ..terminal import Terminal, open_terminal": [],
        "from ..zvtools import x": [],
    }
    for source, expected in cases.items():
        assert protocol_imports(source, "pi_agent.notify.messages") == expected, source


def test_a_bad_import_in_a_copy_of_the_tree_fails_the_check(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "pi_agent"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__", "*.png"))
    assert boundary_violations(copy) == []
    (copy / "notify" / "messages.py").write_text(
        (copy / "notify" / "messages.py").read_text() + "\nfrom ..zvt.codes import result_text\n"
    )
    assert boundary_violations(copy) == ["pi_agent/notify/messages.py imports pi_agent.zvt.codes"]
