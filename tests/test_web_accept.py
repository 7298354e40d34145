"""Window acceptance (受理): accept with a printable receipt, one-time notice listing every missing material,
refusal naming the competent agency, an instant item decided on the spot; bad and hostile input."""

from __future__ import annotations

import re

from tests.web_helpers import post, text

pytest_plugins = ["tests.web_fixtures"]

APPLICANT = {
    "applicant_kind": "organisation", "applicant_name": "示范县鑫源餐饮管理有限公司",
    "applicant_id_no": "91330100MA2XXXX01K", "applicant_phone": "0571-88880000",
}  # fmt: skip
ALL = ["申请书", "营业执照", "场所平面图"]


def _submit(client, code="MKT-001", materials=ALL, **fields):
    data = {**APPLICANT, "materials": list(materials), **fields}
    return post(client, f"/accept/{code}", data)


def _case(site, response):
    case_id = re.match(r"/accept/cases/([0-9a-f]+)/", response.location).group(1)
    return site.runtime.describe(case_id)


def test_window_sees_the_items_of_its_department(signed_in):
    page = text(signed_in("li.clerk").get("/accept/"))
    assert "食品经营许可" in page and "即办件" in page and "10 个工作日 / 20 个工作日" in page
    assert "公共场所卫生许可" not in page
    assert signed_in("wang.rev").get("/accept/").status_code == 403


def test_accept_prints_a_receipt_and_the_case_goes_to_review(site, signed_in):
    clerk = signed_in("li.clerk")
    page = text(clerk.get("/accept/MKT-001"))
    assert "申请书" in page and "授权委托书" in page and "《中华人民共和国食品安全法》第三十五条" in page
    response = _submit(clerk, outcome="accept", by_proxy="1", proxy_name="柳庄村代办员 张红",
                       proxy_phone="13800000011")  # fmt: skip
    assert response.status_code == 302 and response.location.endswith("/receipt")
    case = _case(site, response)
    assert case["receipt_no"].startswith("SCJG-20260918-")
    assert case["data"]["proxy"] == {"name": "柳庄村代办员 张红", "phone": "13800000011"}
    assert [t["bpmn_id"] for t in case["tasks"]] == ["review"]
    receipt = text(clerk.get(response.location))
    for expected in (
        "受理通知书",
        case["receipt_no"],
        "示范县鑫源餐饮管理有限公司",
        "柳庄村代办员 张红",
        "营业执照",
        "承诺时限 10 个工作日，法定时限 20 个工作日",
        "预计办结日期：2026年10月",
        "data-print",
    ):
        assert expected in receipt, expected
    assert "授权委托书" not in receipt  # not handed in, not on the receipt
    assert case["receipt_no"] in text(signed_in("wang.rev").get("/inbox"))


def test_one_time_notice_lists_every_missing_material(site, signed_in):
    clerk = signed_in("li.clerk")
    response = _submit(clerk, materials=["申请书"], outcome="supplement", opinion="申请书缺法定代表人签字")
    assert response.location.endswith("/notice")
    case = _case(site, response)
    assert case["data"]["missing_materials"] == ["营业执照", "场所平面图"]
    notice = text(clerk.get(response.location))
    table = notice[notice.index('id="missing-materials"') :]
    table = table[: table.index("</table>")]
    assert "营业执照" in table and "场所平面图" in table and "申请书" not in table and "授权委托书" not in table
    assert "一次性告知" in notice and "申请书缺法定代表人签字" in notice and "第三十二条第一款第（四）项" in notice
    assert case["tasks"] == []


def test_refusal_names_the_competent_agency(site, signed_in):
    clerk = signed_in("li.clerk")
    response = _submit(clerk, outcome="refuse")
    assert response.status_code == 422
    page = text(response)
    assert "请选择不予受理的理由" in page
    assert 'value="示范县鑫源餐饮管理有限公司"' in page  # kept
    page = text(_submit(clerk, outcome="refuse", refuse_reason="not_in_remit"))
    assert "须告知申请人向有关行政机关申请" in page
    response = _submit(clerk, outcome="refuse", refuse_reason="not_in_remit", competent_agency="示范县卫生健康委员会",
                       refusal_detail="公共场所卫生许可由卫生健康部门实施")  # fmt: skip
    assert response.location.endswith("/refusal")
    page = text(clerk.get(response.location))
    assert "不予受理决定书" in page and "请您向 示范县卫生健康委员会 提出申请" in page
    assert "不属于本机关职权范围：公共场所卫生许可由卫生健康部门实施" in page and "行政复议" in page
    assert _case(site, response)["status"] == "completed"


def test_acceptance_is_refused_when_required_materials_are_missing(site, signed_in):
    clerk = signed_in("li.clerk")
    response = _submit(clerk, materials=["申请书"], outcome="accept")
    assert response.status_code == 422
    assert "必要材料未齐（2 项），不能受理" in text(response)
    response = _submit(clerk, outcome="supplement")
    assert "必要材料已齐全，无需一次性告知" in text(response)
    assert site.tasks.query(limit=10) == []


def test_applicant_fields_are_checked_and_kept(signed_in):
    clerk = signed_in("li.clerk")
    response = post(
        clerk,
        "/accept/MKT-001",
        {"applicant_name": "", "applicant_id_no": "12", "applicant_phone": "abc", "outcome": "accept", "by_proxy": "1"},
    )
    page = text(response)
    assert response.status_code == 422
    for message in ("请填写申请人名称", "证件号码应为 8–20 位", "请填写有效的联系电话", "请填写代办人姓名"):
        assert message in page


def test_instant_item_is_decided_on_the_spot_by_the_chief_representative(site, signed_in):
    site.identity.add_user("chen.window", "correct-horse", "market", ("clerk", "approver"), "陈窗口首席")
    window = signed_in("chen.window")
    response = _submit(window, code="MKT-002", materials=["变更申请书"], outcome="accept")
    receipt = text(window.get(response.location))
    assert "本事项为即办件，当场办结" in receipt
    link = re.search(r'href="(/tasks/[^"]+)">即办件：当场办理', receipt).group(1)
    task_id = link.rsplit("/", 1)[1]
    response = post(window, link, {"decision": "approve", "opinion": "当场核准"})
    assert response.status_code == 302
    case = _case(site, type("R", (), {"location": f"/accept/cases/{site.tasks.get(task_id).case_id}/receipt"}))
    assert case["status"] == "completed"
    # a plain clerk gets the receipt without the on-the-spot decision
    response = _submit(signed_in("li.clerk"), code="MKT-002", materials=["变更申请书"], outcome="accept")
    assert "即办件：当场办理" not in text(signed_in("li.clerk").get(response.location))


def test_documents_are_not_shown_to_another_department(site, signed_in):
    response = _submit(signed_in("li.clerk"), outcome="accept")
    assert signed_in("he.clerk").get(response.location).status_code == 404
    assert signed_in("wang.rev").get(response.location).status_code == 200


def test_xss_in_every_acceptance_field_is_escaped(site, signed_in):
    payload = '"><script>alert(1)</script>'
    clerk = signed_in("li.clerk")
    fields = {k: payload for k in ("applicant_name", "applicant_id_no", "applicant_phone", "proxy_name",
                                   "proxy_phone", "competent_agency", "refusal_detail", "opinion", "outcome", "refuse_reason",
                                   "applicant_kind")}  # fmt: skip
    page = text(post(clerk, "/accept/MKT-001", {**fields, "by_proxy": "1", "materials": [payload]}))
    assert "<script>alert(1)" not in page and "&#34;&gt;&lt;script&gt;" in page
    response = _submit(clerk, outcome="refuse", refuse_reason="not_in_remit", applicant_name=payload, competent_agency=payload,
                       refusal_detail=payload, by_proxy="1", proxy_name=payload, proxy_phone="13800000011")  # fmt: skip
    page = text(clerk.get(response.location))
    assert "<script>alert(1)" not in page and page.count("&lt;script&gt;") >= 4
