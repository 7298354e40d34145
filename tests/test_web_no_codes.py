"""No engine code on a person's screen: a clerk, a reviewer, an approver, a leader and a supervisor of the demo
county walk every page they can reach from their inbox (same-site GET links, a few pages of each shape), in
Chinese and in English, and do the supervisor's actions; no visible text (text and `title`, not scripts or other
attributes) may show a code.

What counts as a code:
- on every page: a snake_case id (`case_watch`, `alert_raised`), a group `role@department`, a username or a
  department code of the demo, a Python repr or a traceback;
- on the Chinese pages: any lower-case Latin word (`running`, `approve`, `clerk`): nothing a person reads there is
  written in lower-case Latin letters (receipt numbers, CSV, UTC are upper-case);
- on the English pages: a text (or a `·`-separated part of one) that is a code word as a whole (`running`,
  `approve`, `reviewer`: the English catalog writes words, capitalised as a label), and any Chinese label of the
  pages (a message of the pages' catalog, a Chinese text written in a template, a name of a stage or an event):
  Chinese is for case data there (applicants, items, departments, diagram element names, opinions).
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from babel.messages.extract import extract_from_dir
from sqlalchemy import select

from engine import stages
from engine.alerts_board import TIME_KINDS
from engine.services.supervision import CASE_ACTIONS
from engine.store import Notification, SupervisionAlert
from engine.store.identity import ROLES
from engine.supervision import STATUSES
from tests import demo_world
from tests.conftest import ROOT
from tests.web_helpers import csrf_token
from webui import case_view, create_app

PAGES_PER_SHAPE = 3  # pages of one shape (`/tasks/<id>`, `/supervision/cases/<ref>`) walked per person
MAX_PAGES = 60  # per person and language
# Pages the filter forms lead to (GET forms, not links), walked from as well.
FORM_PAGES = (
    "/inbox?stage=review",
    "/supervision/?status=completed",
    "/supervision/?status=suspended",
    "/supervision/statistics?by=officer",
    "/supervision/statistics?by=item",
    "/supervision/alerts?closed=1",
)
SKIPPED = ("/static/", "/supervision/vendor/", "/api/", "/logout")
SKIPPED_ENDINGS = (".csv", ".bpmn", ".json", ".pdf")

LOWER_WORD = re.compile(r"(?<![A-Za-z0-9])[a-z][a-z0-9]*(?:[._@-][a-z0-9]+)*[a-z0-9](?![A-Za-z0-9])")
SNAKE = re.compile(r"(?<![A-Za-z0-9_])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![A-Za-z0-9_])")
GROUP = re.compile(r"[a-z][a-z0-9_-]*@[a-z][a-z0-9-]*")
REPR = re.compile(r"<[\w.]+ object at 0x|Traceback \(most recent call last\)|\b[A-Z]\w+\(\w+=|\{'\w+': |\[\{'")
CJK = re.compile(r"[\u3400-\u9fff]")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
VERSION = re.compile(r"v\d+")  # a process version, as designers and the diagram viewer write it
SEPARATORS = re.compile(r"\s+·\s+|\s*[：:，,、；]\s*|\s{2,}")


class VisibleText(HTMLParser):
    """The text a person sees (and reads on hover: `title`), one string per text node, and the links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0
        self._open: list[tuple[str, bool]] = []  # open elements, and whether each is in a language of its own

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "template"):
            self._hidden += 1
        if tag not in VOID:
            own = (tag != "html" and bool(attrs.get("lang"))) or attrs.get("aria-hidden") == "true"
            self._open.append((tag, own))
        if attrs.get("title"):
            self.texts.append(attrs["title"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        # A text in a language of its own (the language switch names 中文 in Chinese) or a decorative glyph (the
        # emblem) is no label of the page's language: kept out, as are scripts.
        if not self._hidden and data.strip() and not any(own for _tag, own in self._open):
            self.texts.append(" ".join(data.split()))


def _template_texts() -> set[str]:
    """Chinese written in the templates outside the message catalog's calls (labels that bypass the catalog)."""
    found = set()
    for path in (ROOT / "webui" / "templates").rglob("*.html"):
        source = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "\n", path.read_text(encoding="utf-8"), flags=re.S)
        for run in re.sub(r"<[^>]*>", "\n", source).split("\n"):
            if CJK.search(run):
                found.add(run.strip())
    return found


def _python_texts() -> set[str]:
    """Chinese string constants of the web's Python modules (catalog messages and any label written past it)."""
    found = set()
    for path in (ROOT / "webui").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CJK.search(node.value):
                found.add(node.value.strip())
    return found


def _label_pattern(message: str) -> re.Pattern:
    """A label as a whole text, its placeholders (`%(n)s`) standing for anything."""
    parts = re.split(r"%\(\w+\)[sd]|%[sd]", message.replace("%%", "%"))
    return re.compile(".+?".join(re.escape(p) for p in parts))


def chinese_labels(data: set[str]) -> list[re.Pattern]:
    """The pages' Chinese labels: the catalog's messages, Chinese written in templates and web modules, the names
    of stages and events; a text that is also case or organisation data (`data`) is not a label."""
    messages = {m[2] if isinstance(m[2], str) else m[2][0] for m in extract_from_dir(
        str(ROOT), [("webui/**.py", "python"), ("webui/templates/**.html", "jinja2")],
        options_map={"webui/templates/**.html": {"extensions": "jinja2.ext.do"}})}  # fmt: skip
    labels = messages | _template_texts() | _python_texts()
    labels |= set(case_view.ENGINE_NAMES)
    return [_label_pattern(t) for t in sorted(labels) if CJK.search(t) and t not in data]


def known_codes(engine) -> tuple[set[str], set[str]]:
    """(code words: states, stages, actions, events, roles, alert kinds, form choices; identifiers: usernames and
    department codes) of the demo."""
    words = set(STATUSES) | {"open", "claimed", "cancelled", "active"} | set(stages.STAGE_NAMES) | set(CASE_ACTIONS)
    words |= set(case_view.ACTIONS) | set(ROLES) | set(TIME_KINDS)
    for form in (ROOT / "forms").rglob("*.json"):
        text = form.read_text(encoding="utf-8")
        for values in re.findall(r'"enum"\s*:\s*(\[[^\]]*\])', text):
            words |= {v for v in json.loads(values) if isinstance(v, str) and re.fullmatch(r"[a-z_]+", v)}
    identifiers = {u.username for u in engine.identity.users()} | {d.code for d in engine.identity.departments()}
    return words, identifiers


def _strings(value) -> set[str]:
    """Every string in a parsed JSON or TOML document."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        value = list(value.values())
    return set().union(*map(_strings, value)) if isinstance(value, list) else set()


def data_parts(data: set[str]) -> set[str]:
    """The data texts and each of their separated parts (as findings splits a page's text)."""
    return data | {p.strip(" （）()") for text in data for p in SEPARATORS.split(text)}


def world_data(engine) -> set[str]:
    """Chinese texts that are data of the demo, not labels: names of departments, items, people, diagram elements,
    the forms' texts, the catalog's, and the records written when something happened (an alert's message, a
    notification), which stay in the words they were sent in."""
    data = {d.name for d in engine.identity.departments()} | {i.name for i in engine.catalog.list()}
    for form in (ROOT / "forms").rglob("*.json"):
        data |= _strings(json.loads(form.read_text(encoding="utf-8")))
    data |= _strings(tomllib.loads((ROOT / "processes" / "catalog.toml").read_text(encoding="utf-8")))
    data |= {u.display_name for u in engine.identity.users() if u.display_name}
    with engine.db.session() as session:
        data |= set(session.scalars(select(SupervisionAlert.message)))
        for subject, body in session.execute(select(Notification.subject, Notification.body)):
            data |= {subject, *body.splitlines()}
    for pv in engine.repository.list(latest_only=False):
        data |= {(facts or {}).get("name") for facts in (pv.elements or {}).values()} - {None}
    return data


def findings(texts: list[str], lang: str, words: set[str], identifiers: set[str], labels, data: set[str]) -> list[str]:
    """What in these visible texts is a code, as `rule: text`."""
    found = []
    for text in texts:
        for rule, pattern in (("snake_case id", SNAKE), ("group", GROUP), ("repr", REPR)):
            found += [f"{rule}: {m.group(0)}" for m in pattern.finditer(text)]
        tokens = {m.group(0) for m in LOWER_WORD.finditer(text)}
        found += [f"username or department code: {t}" for t in sorted(tokens & identifiers)]
        if lang == "zh":
            found += [f"Latin word on a Chinese page: {t}" for t in sorted(tokens - identifiers)
                      if "_" not in t and not VERSION.fullmatch(t)]  # fmt: skip
            continue
        parts = [text, *SEPARATORS.split(text)]
        found += [f"code word: {p.strip()}" for p in parts if p.strip() in words]
        if CJK.search(text) and text not in data:
            for part in dict.fromkeys(p.strip(" （）()") for p in parts):
                if part and part not in data and any(label.fullmatch(part) for label in labels):
                    found.append(f"Chinese label on an English page: {part}")
    return found


def _shape(path: str) -> str:
    """A page's shape: the path with its ids and receipt numbers as `*` (the query string's keys kept)."""
    parts = urlsplit(path)
    segments = ["*" if re.search(r"\d", s) else s for s in parts.path.split("/")]
    keys = sorted(k.split("=")[0] for k in parts.query.split("&") if k)
    return "/".join(segments) + ("?" + "&".join(keys) if keys else "")


def walk(client, starts=("/inbox", *FORM_PAGES)) -> dict[str, list[str]]:
    """Visit same-site GET links breadth-first from `starts`: path → its visible texts."""
    seen, shapes, queue, pages = set(), {}, list(starts), {}
    while queue and len(pages) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        shape = _shape(path)
        if shapes.get(shape, 0) >= PAGES_PER_SHAPE:
            continue
        response = client.get(path)
        if not response.content_type.startswith("text/html"):
            continue
        shapes[shape] = shapes.get(shape, 0) + 1
        parser = VisibleText()
        parser.feed(response.get_data(as_text=True))
        pages[path] = parser.texts
        for href in parser.links:
            target = urlsplit(urljoin(f"http://localhost{path}", href))
            if target.netloc != "localhost":
                continue
            link = target.path + (f"?{target.query}" if target.query else "")
            if link.startswith(SKIPPED) or target.path.endswith(SKIPPED_ENDINGS) or link in seen:
                continue
            queue.append(link)
    return pages


def _signed_in(app, username: str, lang: str):
    client = app.test_client()
    token = csrf_token(client)
    response = client.post("/login", data={"username": username, "password": demo_world.PASSWORD,
                                           "csrf_token": token})  # fmt: skip
    assert response.status_code == 302, f"{username} cannot sign in"
    if lang == "en":
        client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client, "/inbox")})
    return client


def _documents(engine, username: str) -> list[str]:
    """The printed documents of a case of the person's department (a clerk reaches them by accepting one)."""
    user = engine.identity.get_user(username)
    if "clerk" not in user.roles:
        return []
    supervisor = engine.identity.get_user(demo_world.PEOPLE["supervisor"])
    rows = engine.supervision.cases(engine.supervision.scope(supervisor), demo_world.all_cases()).rows
    case_id = next(r["case_id"] for r in rows if r["department"] == user.department)
    return [f"/accept/cases/{case_id}/{kind}" for kind in ("receipt", "notice", "refusal")]


def _supervisor_actions(engine, client) -> dict[str, list[str]]:
    """A supervisor resumes the suspended case, suspends it again, and retries a running case (refused): the
    pages they land on, with the outcome said."""
    supervisor = engine.identity.get_user(demo_world.PEOPLE["supervisor"])
    rows = engine.supervision.cases(engine.supervision.scope(supervisor), demo_world.all_cases()).rows
    suspended = next(r["receipt_no"] for r in rows if r["status"] == "suspended")
    running = next(r["receipt_no"] for r in rows if r["status"] == "running")
    pages = {}
    for ref, action in ((suspended, "resume"), (suspended, "suspend"), (running, "retry")):
        token = csrf_token(client, "/inbox")
        response = client.post(f"/supervision/cases/{ref}/{action}", data={"reason": "核查", "csrf_token": token},
                               follow_redirects=True)  # fmt: skip
        parser = VisibleText()
        parser.feed(response.get_data(as_text=True))
        pages[f"POST /supervision/cases/{ref}/{action}"] = parser.texts
    return pages


@pytest.fixture
def demo_app(engine, tmp_path):
    demo_world.build(engine, tmp_path, cases=24)
    return create_app(engine, {"SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
                               "INSTANCE_DIR": str(tmp_path)})  # fmt: skip


def test_no_code_on_any_page_of_the_demo_for_any_person_in_either_language(engine, demo_app):
    words, identifiers = known_codes(engine)
    data = world_data(engine)
    labels = chinese_labels(data)
    data = data_parts(data)
    report: dict[str, set[str]] = {}
    walked = 0
    for lang in ("zh", "en"):
        for kind, username in demo_world.PEOPLE.items():
            client = _signed_in(demo_app, username, lang)
            pages = walk(client, ("/inbox", *FORM_PAGES, *_documents(engine, username)))
            if kind == "supervisor":
                pages.update(_supervisor_actions(engine, client))
            assert len(pages) > 3, f"{username} reached only {list(pages)}"
            walked += len(pages)
            for path, texts in pages.items():
                for finding in findings(texts, lang, words, identifiers, labels, data):
                    report.setdefault(finding, set()).add(f"{lang} {username} {path}")
    assert walked > 100
    lines = [f"{finding}    ({len(where)}× e.g. {sorted(where)[0]})" for finding, where in sorted(report.items())]
    assert not report, f"{len(report)} codes on the pages of the demo:\n" + "\n".join(lines)
