"""The task page: case header, limits, materials, history; the form from JSON Schema with errors beside each
field and input kept; completion, a concurrent completion, uploads and downloads, and the AB backup."""

from __future__ import annotations

import io
import re

from tests.web_helpers import accept_case, open_task, post, start_case, text

pytest_plugins = ["tests.web_fixtures"]

GOOD_REVIEW = {
    "conclusion": "pass", "site_visit": "2026-09-20", "score": "88", "area": "120.5", "risk": "B",
    "verified": "true", "inspectors-0-name": "王审查", "inspectors-0-cert_no": "ZF-001", "inspectors-1-name": "",
    "opinion": "材料齐全，现场核查符合条件。",
}  # fmt: skip
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _review(site, signed_in, user="wang.rev"):
    case = start_case(site)
    accept_case(site, case)
    task = open_task(site, case, "review")
    client = signed_in(user)
    post(client, f"/tasks/{task.id}/claim")
    return case, task, client


def test_task_page_shows_the_case_and_renders_the_form(site, signed_in):
    case, task, client = _review(site, signed_in)
    page = text(client.get(f"/tasks/{task.id}"))
    for expected in (
        case.receipt_no,
        "食品经营许可",
        "示范县鑫源餐饮管理有限公司",
        "91330100MA2XXXX01K",
        "受理日期",
        "办件总时限",
        "10 个工作日",
        "审查",
        "6 个工作日",
        "14 个工作日",  # limits table
        "营业执照",
        "授权委托书",
        "办理过程",
        "收件登记",
        "李窗口",  # the clerk who registered it, by name
        "审查意见表",
    ):
        assert expected in page, expected
    # widgets follow the schema
    assert 'type="radio" name="conclusion" value="pass"' in page
    assert 'name="site_visit" type="date"' in page
    assert re.search(r'name="score" type="number" value="" step="1" min="0" max="100"', page)
    assert '<select id="in-risk" name="risk"' in page and ">B级</option>" in page
    assert 'name="verified" type="checkbox" value="true"' in page
    assert 'name="inspectors-0-name"' in page and 'name="inspectors-1-cert_no"' in page
    assert 'name="site_photo" type="file"' in page
    assert '<textarea id="in-opinion" name="opinion"' in page


def test_validation_errors_beside_each_field_and_input_kept(site, signed_in):
    case, task, client = _review(site, signed_in)
    bad = {**GOOD_REVIEW, "score": "150", "site_visit": "", "inspectors-0-name": "", "inspectors-0-cert_no": "ZF-9",
           "opinion": "我写了很长的意见，不能丢"}  # fmt: skip
    response = post(client, f"/tasks/{task.id}", bad)
    assert response.status_code == 422
    page = text(response)
    assert re.search(r'id="err-score" role="alert">不得大于 100<', page)
    assert re.search(r'id="err-site_visit" role="alert">必填<', page)
    assert re.search(r'id="err-inspectors-0-name" role="alert">必填<', page)
    # everything typed is still there
    assert 'value="150"' in page and "我写了很长的意见，不能丢</textarea>" in page
    assert 'value="ZF-9"' in page and 'value="pass" checked' in page and 'value="B" selected' in page
    assert site.tasks.get(task.id).state == "open"


def test_complete_goes_back_to_the_inbox_with_a_confirmation(site, signed_in):
    case, task, client = _review(site, signed_in)
    response = post(client, f"/tasks/{task.id}", GOOD_REVIEW)
    assert response.status_code == 302 and response.location == "/inbox"
    page = text(client.get("/inbox"))
    assert f"已办理完成：审查（办件编号 {case.receipt_no}）" in page
    done = site.tasks.get(task.id)
    assert done.state == "completed" and done.completed_by == "wang.rev"
    event = [e for e in site.history.trail(case.id) if e.action == "task_completed"][-1]
    assert event.payload["data"]["score"] == 88 and event.payload["data"]["area"] == 120.5
    assert event.payload["data"]["inspectors"] == [{"name": "王审查", "cert_no": "ZF-001"}]
    assert event.payload["opinion"] == "材料齐全，现场核查符合条件。"
    # the approver sees the decision next, with the reviewer's opinion in the history
    decide = open_task(site, case, "decide")
    page = text(signed_in("chen.app").get(f"/tasks/{decide.id}"))
    assert "材料齐全，现场核查符合条件。" in page and "王审查" in page


def test_concurrent_completion_one_wins_the_other_keeps_what_they_typed(site, signed_in):
    case = start_case(site)
    accept_case(site, case)
    task = open_task(site, case, "review")
    wang, zhao = signed_in("wang.rev"), signed_in("zhao.rev")
    # both have the unclaimed task open; wang submits first
    assert zhao.get(f"/tasks/{task.id}").status_code == 200
    assert post(wang, f"/tasks/{task.id}", GOOD_REVIEW).status_code == 302
    response = post(zhao, f"/tasks/{task.id}", {**GOOD_REVIEW, "opinion": "赵的意见：需要补充现场照片"})
    assert response.status_code == 409
    page = text(response)
    assert "您的提交未生效" in page and "wang.rev" in page
    assert "赵的意见：需要补充现场照片</textarea>" in page
    assert site.tasks.get(task.id).completed_by == "wang.rev"


def test_upload_download_and_refused_files(site, signed_in):
    case, task, client = _review(site, signed_in)
    ok = post(client, f"/tasks/{task.id}/files", {"file": (io.BytesIO(PDF), "营业执照副本.pdf")},
              content_type="multipart/form-data", follow_redirects=True)  # fmt: skip
    assert "已上传：营业执照副本.pdf" in text(ok)
    html = post(client, f"/tasks/{task.id}/files", {"file": (io.BytesIO(b"<script>alert(1)</script>"), "x.pdf")},
                content_type="multipart/form-data", follow_redirects=True)  # fmt: skip
    assert "内容与扩展名 .pdf 不符" in text(html)
    exe = post(client, f"/tasks/{task.id}/files", {"file": (io.BytesIO(b"MZ..."), "tool.exe")},
               content_type="multipart/form-data", follow_redirects=True)  # fmt: skip
    assert "类型不允许上传" in text(exe)
    site.attachments.max_bytes = 1024
    big = post(client, f"/tasks/{task.id}/files", {"file": (io.BytesIO(PDF + b"0" * 2048), "big.pdf")},
               content_type="multipart/form-data", follow_redirects=True)  # fmt: skip
    assert "超过" in text(big) and "未保存" in text(big)
    files = site.attachments.for_case(case.id)
    assert [f.filename for f in files] == ["营业执照副本.pdf"]
    page = text(client.get(f"/tasks/{task.id}"))
    link = re.search(r'href="(/tasks/[^"]+/files/[0-9a-f]{64})"', page).group(1)
    download = client.get(link)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    # another department cannot fetch it, even knowing the address
    assert signed_in("he.rev").get(link).status_code == 404


def test_file_field_of_the_form_is_stored_and_kept_on_error(site, signed_in):
    case, task, client = _review(site, signed_in)
    data = {**GOOD_REVIEW, "score": "-1", "site_photo": (io.BytesIO(b"\x89PNG\r\n\x1a\n0000"), "现场.png")}
    response = post(client, f"/tasks/{task.id}", data, content_type="multipart/form-data")
    assert response.status_code == 422
    page = text(response)
    sha = re.search(r'<input type="hidden" name="site_photo" value="([0-9a-f]{64})">', page).group(1)
    assert "已上传：现场.png" in page
    response = post(client, f"/tasks/{task.id}", {**GOOD_REVIEW, "site_photo": sha})
    assert response.status_code == 302
    event = [e for e in site.history.trail(case.id) if e.action == "task_completed"][-1]
    assert event.payload["data"]["site_photo"] == sha


def test_ab_backup_acts_for_an_absent_colleague(site, signed_in):
    case, task, _wang = _review(site, signed_in)  # wang claimed it ...
    site.identity.set_absent("wang.rev", "zhao.rev")  # ... then went on leave; zhao covers
    zhao = signed_in("zhao.rev")
    page = text(zhao.get("/inbox"))
    assert case.receipt_no in page and "AB岗：您正在代岗 王审查" in page
    page = text(zhao.get(f"/tasks/{task.id}"))
    assert "您正在代 王审查 办理" in page
    assert post(zhao, f"/tasks/{task.id}", GOOD_REVIEW).status_code == 302
    event = [e for e in site.history.trail(case.id) if e.action == "task_completed"][-1]
    assert event.actor == "zhao.rev" and event.payload["on_behalf_of"] == "wang.rev"
    decide = open_task(site, case, "decide")
    assert "（代 王审查）" in text(signed_in("chen.app").get(f"/tasks/{decide.id}"))


def test_xss_in_every_form_field_is_rendered_escaped(site, signed_in):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    case = start_case(site, applicant_name=payload)
    accept_case(site, case)
    task = open_task(site, case, "review")
    wang = signed_in("wang.rev")
    for page in (text(wang.get("/inbox")), text(wang.get(f"/tasks/{task.id}"))):
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    post(wang, f"/tasks/{task.id}/claim")
    hostile = {k: payload for k in ("conclusion", "site_visit", "score", "area", "risk", "verified",
                                    "inspectors-0-name", "inspectors-0-cert_no", "site_photo", "opinion")}  # fmt: skip
    page = text(post(wang, f"/tasks/{task.id}", hostile))
    assert "<script>alert" not in page and "<img src=x" not in page
    assert page.count("&lt;script&gt;") >= 5
    good = {**GOOD_REVIEW, "opinion": payload, "inspectors-0-name": payload[:50]}
    assert post(wang, f"/tasks/{task.id}", good).status_code == 302
    decide = open_task(site, case, "decide")
    page = text(signed_in("chen.app").get(f"/tasks/{decide.id}"))
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;x&#34;)" in page


def test_a_field_outside_the_form_is_refused_on_the_page_by_name(site, signed_in):
    case, task, client = _review(site, signed_in)
    response = post(client, f"/tasks/{task.id}", {**GOOD_REVIEW, "department": "qx-wsjk", "approved": "true"})
    assert response.status_code == 422
    page = text(response)
    assert "提交的数据含有表单没有的字段，未予办理：approved、department" in page
    assert "材料齐全，现场核查符合条件。" in page  # the typed input is kept
    after = site.runtime.describe(case.id)
    assert after["data"]["department"] != "qx-wsjk" and [t["id"] for t in after["tasks"]] == [task.id]
    assert post(client, f"/tasks/{task.id}", GOOD_REVIEW).status_code == 302  # the form's own fields pass


def test_a_refusal_of_the_policy_is_said_in_the_page_language(site, signed_in):
    case, task, _client = _review(site, signed_in)  # claimed by wang.rev
    other = signed_in("zhao.rev")
    response = post(other, f"/tasks/{task.id}", GOOD_REVIEW)
    assert response.status_code == 409 and "此任务已由 王审查 签收。" in text(response)
    post(other, "/language", {"lang": "en", "next": "/inbox"})
    response = post(other, f"/tasks/{task.id}", GOOD_REVIEW)
    assert "This task is already claimed by 王审查." in text(response)
