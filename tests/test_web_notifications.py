"""我的通知: the in-app notifications escalation writes, shown to the officers and groups they name (AB岗 included)
and to nobody else; the unread badge in the nav; marking read one by one and all at once; CSRF; paging; English."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from engine import notify
from engine.clock import LOCAL_TZ
from engine.scheduler import drain
from engine.store import Notification
from tests.conftest import FIXTURES
from tests.web_helpers import login, post, text
from webui import create_app

pytest_plugins = ["tests.web_fixtures"]


def _at(m, d, hh=0, mm=0, ss=1):
    return datetime(2026, m, d, hh, mm, ss, tzinfo=LOCAL_TZ)


def _badge(page: str) -> int:
    """The unread count beside the nav link (0 when the badge is absent)."""
    match = re.search(r'id="nav-unread"[^>]*>(\d+)<', page)
    return int(match.group(1)) if match else 0


def _ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="notification-(\d+)"', page)]


def _in_app(engine, **where) -> list[Notification]:
    with engine.db.session() as s:
        query = select(Notification).where(Notification.channel == "in_app").order_by(Notification.id)
        return list(s.scalars(query.filter_by(**where)))


def _write(engine, recipient: str, subject: str, body: str = "正文") -> int:
    """An in-app notification written as escalation writes it."""
    with engine.db.session() as s, s.begin():
        row = notify.enqueue(engine, s, "in_app", recipient, subject, body, engine.now())
        s.flush()
        return row.id


def escalate(site, clock):
    """Two approval cases of market supervision walked to red on the test clock: case A's review task held by
    wang.rev (alerts name him), case B's unclaimed (alerts name the group reviewer@market). The department's
    leader chen.app hears of the red ones. Returns (case A, case B, A's review task)."""
    site.identity.add_department("market", "示范县市场监督管理局", "county", parent="county", leader="chen.app")
    site.repository.deploy_file(FIXTURES / "tl_approval.bpmn", "designer")
    held = site.runtime.start("tl_approval", {"department": "market", "item_name": "食品经营许可"})
    offered = site.runtime.start("tl_approval", {"department": "market", "item_name": "公共场所卫生许可"})
    review = site.tasks.query(case_id=held.id)[0]
    site.tasks.claim(review.id, "wang.rev")
    for moment in (_at(9, 22), _at(9, 30), _at(10, 10)):  # yellow (review), yellow (case), red (case)
        clock.set(moment)
        assert drain(site) == 2
    return held, offered, review


@pytest.fixture
def escalated(site, clock):
    return escalate(site, clock)


def test_yellow_and_red_reach_the_officer_and_group_they_name_not_another_department(signed_in, escalated):
    held, offered, review = escalated
    wang = text(signed_in("wang.rev").get("/notifications"))
    assert "黄牌预警" in wang and "红牌警告" in wang and "剩余 2 个工作日" in wang
    assert len(_ids(wang)) == 6 and _badge(wang) == 6  # his own three and his group's three
    assert f'<a href="/tasks/{review.id}">{held.receipt_no}</a>' in wang  # the receipt leads to his task
    assert wang.count("发给岗位：示范县市场监督管理局审查人员") == 3 and "未读" in wang

    zhao = text(signed_in("zhao.rev").get("/notifications"))  # same group: the group's three, not wang's own
    assert len(_ids(zhao)) == 3 and offered.receipt_no in zhao and held.receipt_no not in zhao

    he = text(signed_in("he.rev").get("/notifications"))  # a reviewer of health: none of it
    assert _ids(he) == [] and "暂无通知" in he and _badge(he) == 0
    assert held.receipt_no not in he and offered.receipt_no not in he

    leader = text(signed_in("chen.app").get("/notifications"))  # the red ones of both cases, no task to link
    assert len(_ids(leader)) == 2 and leader.count("红牌警告") == 2 and "黄牌预警" not in leader
    assert f">{held.receipt_no}</a>" not in leader and held.receipt_no in leader


def test_the_badge_counts_unread_with_one_count_per_page_and_none_when_signed_out(app, signed_in, escalated,
                                                                                   monkeypatch):  # fmt: skip
    counted = []
    real = notify.unread_count
    monkeypatch.setattr(notify, "unread_count", lambda eng, user: counted.append(user) or real(eng, user))
    page = text(signed_in("zhao.rev").get("/inbox"))
    assert "我的通知" in page and _badge(page) == 3
    assert counted == ["zhao.rev"]  # one count for the page (the sign-in renders none: it shows no nav)
    counted.clear()
    signed_in("zhao.rev").get("/notifications")
    assert counted == []  # the page's own query gives the badge its number
    anonymous = text(app.test_client().get("/login"))
    assert "我的通知" not in anonymous and counted == []


def test_mark_one_read_then_all(site, signed_in, escalated):
    client = signed_in("zhao.rev")
    first, *rest = _ids(text(client.get("/notifications")))
    response = post(client, f"/notifications/{first}/read", {"next": "/notifications?unread=1"})
    assert response.status_code == 302 and response.headers["Location"] == "/notifications?unread=1"
    page = text(client.get("/notifications?unread=1"))
    assert _ids(page) == rest and _badge(page) == 2
    assert _in_app(site, id=first)[0].read_at == site.now()
    assert post(client, f"/notifications/{first}/read").status_code == 302  # again: still fine, nothing changes

    newer = _write(site, "reviewer@market", "新通知")  # the newest when the page is shown; one more comes after
    page = text(client.get("/notifications"))
    up_to = int(re.search(r'name="up_to" value="(\d+)"', page).group(1))
    _write(site, "zhao.rev", "更新的通知")
    post(client, "/notifications/read", {"up_to": up_to})
    page = text(client.get("/notifications?unread=1"))
    assert up_to == newer  # the newest when the page was shown
    assert _badge(page) == 1 and _ids(page) == [n.id for n in _in_app(site, subject="更新的通知")]
    post(client, "/notifications/read")
    page = text(client.get("/notifications"))
    assert _badge(page) == 0 and 'id="unread-count">0<' in page and 'name="up_to"' not in page and "已读" in page


def test_another_users_notification_is_not_found(site, signed_in, escalated):
    wangs = [n.id for n in _in_app(site, recipient="wang.rev")]
    groups = [n.id for n in _in_app(site, recipient="reviewer@market")]
    zhao, he = signed_in("zhao.rev"), signed_in("he.rev")
    assert post(zhao, f"/notifications/{wangs[0]}/read").status_code == 404
    assert post(he, f"/notifications/{groups[0]}/read").status_code == 404
    assert post(he, "/notifications/999999/read").status_code == 404
    post(he, "/notifications/read")  # "mark all" touches only the user's own
    assert all(n.read_at is None for n in _in_app(site))


def test_an_ab_backup_sees_what_the_colleague_covered_gets_while_covering(site, signed_in):
    for_approvers = _write(site, "approver@market", "审批岗位通知")
    for_chen = _write(site, "chen.app", "陈首席本人的通知")
    _write(site, "approver@health", "卫健审批岗位通知")
    site.identity.set_absent("chen.app", "wang.rev")
    client = signed_in("wang.rev")
    page = text(client.get("/notifications"))
    assert _ids(page) == [for_chen, for_approvers] and "代岗通知，发给岗位：示范县市场监督管理局审批人（首席代表）" in page
    assert "代岗通知，发给：陈首席" in page and "卫健审批岗位通知" not in page
    assert post(client, f"/notifications/{for_approvers}/read").status_code == 302
    site.identity.clear_absent("chen.app")
    assert _ids(text(client.get("/notifications"))) == []
    assert post(client, f"/notifications/{for_approvers}/read").status_code == 404


def test_posts_without_the_csrf_token_are_refused(site, signed_in, escalated):
    client = signed_in("wang.rev")
    own = _in_app(site, recipient="wang.rev")[0].id
    for path in (f"/notifications/{own}/read", "/notifications/read"):
        response = client.post(path, data={})
        assert response.status_code == 400 and "安全校验未通过" in text(response), path
    assert all(n.read_at is None for n in _in_app(site))


def test_a_long_list_is_paged_newest_first(site, tmp_path):
    app = create_app(site, {"SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
                            "INSTANCE_DIR": str(tmp_path), "NOTIFICATIONS_PER_PAGE": 10})  # fmt: skip
    ids = [_write(site, "wang.rev", f"通知第{i}号") for i in range(1, 26)]
    client = app.test_client()
    assert login(client, "wang.rev").status_code == 302
    first = text(client.get("/notifications"))
    assert _ids(first) == ids[::-1][:10] and "第 1 / 3 页" in first and "page=2" in first
    last = text(client.get("/notifications?page=3"))
    assert _ids(last) == ids[4::-1] and "上一页" in last and "下一页" not in last
    assert _ids(text(client.get("/notifications?page=99"))) == ids[4::-1]  # past the end: the last page
    assert "共 25 条" in first and _badge(first) == 25


def test_login_required(app):
    response = app.test_client().get("/notifications")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_english(signed_in, escalated):
    client = signed_in("zhao.rev")
    post(client, "/language", {"lang": "en", "next": "/notifications"})
    page = text(client.get("/notifications"))
    assert "My notifications" in page and "Mark all as read" in page and "Mark as read" in page
    assert "Unread" in page and "To the post: Reviewer, 示范县市场监督管理局" in page and "Warning" in page
    assert "我的通知" not in page and "全部标为已读" not in page
