"""The web layer and the command line are thin: neither opens a database session nor runs a transaction (each
engine service owns its own), and the command line loads without the web app."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

THIN = [ROOT / "webui", ROOT / "engine" / "cli"]
# What opening a session or a transaction looks like: Database.session()/write_session()/lookup_session(), the
# session factories, Session.begin(), or a connection of the SQLAlchemy engine.
SESSION_CALLS = {"session", "write_session", "lookup_session", "sessions", "write_sessions", "lookup_sessions",
                 "begin", "begin_nested", "connect"}  # fmt: skip
SESSION_NAMES = {"Session", "sessionmaker", "create_engine"}


def _session_calls(path: Path) -> list[str]:
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in SESSION_CALLS or name in SESSION_NAMES:
                found.append(f"{where}:{node.lineno}: {name}(...)")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy.orm"):
            found.append(f"{where}:{node.lineno}: imports {node.module}")
    return found


def test_no_web_or_command_line_module_opens_a_session():
    files = sorted(p for folder in THIN for p in folder.rglob("*.py"))
    assert len(files) > 15  # the check reads the real modules, not an empty folder
    offences = [offence for path in files for offence in _session_calls(path)]
    assert offences == [], "open sessions in an engine service instead:\n" + "\n".join(offences)


def test_the_check_finds_a_session_opened_in_a_view(tmp_path):
    view = tmp_path / "view.py"
    view.write_text("from sqlalchemy.orm import Session\n\ndef page(eng):\n"
                    "    with eng.db.write_session() as s, s.begin():\n        pass\n", encoding="utf-8")  # fmt: skip
    assert _session_calls(view) == ["view.py:1: imports sqlalchemy.orm", "view.py:4: write_session(...)",
                                    "view.py:4: begin(...)"]  # fmt: skip


def test_the_command_line_loads_without_the_web_app():
    code = (
        "import sys, engine.cli, engine.process_engine\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('webui', 'flask', 'flask_babel', 'jinja2'))\n"
        "print(','.join(loaded))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
