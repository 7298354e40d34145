"""Tables of identity and attachments: the department tree, users, roles and memberships, absences (AB岗),
login failures (lockout), API tokens, and the files uploaded to cases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base

ROLES = {
    "clerk": "窗口受理员",
    "reviewer": "审查人员",
    "approver": "审批人（首席代表）",
    "legal_reviewer": "法制审核人员",
    "officer": "执法人员",
    "appeal_officer": "复议人员",
    "supervisor": "电子监察人员",
    "designer": "流程设计人员",
    "admin": "系统管理员",
    "leader": "部门负责人",
}

LEVELS = ("city", "county", "town", "village")


class Department(Base):
    """One node of the four-level service network (市 / 区县 / 乡镇 / 村), or a department at one level."""

    __tablename__ = "departments"
    __table_args__ = (Index("ix_departments_parent", "parent"),)

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(10))
    parent: Mapped[str | None] = mapped_column(ForeignKey("departments.code"))
    leader: Mapped[str | None] = mapped_column(String(100))
    # A supervision office (电子监察, e.g. at the service centre) watches more than its own subtree: the code of
    # the department whose subtree it supervises (e.g. the county government).
    supervises: Mapped[str | None] = mapped_column(String(64))


class Role(Base):
    __tablename__ = "roles"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class User(Base):
    __tablename__ = "users"
    __table_args__ = (Index("ix_users_department", "department"),)

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class Membership(Base):
    """A role held in a department; the candidate group it puts the user in is `role@department`."""

    __tablename__ = "memberships"

    username: Mapped[str] = mapped_column(ForeignKey("users.username", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(ForeignKey("roles.code"), primary_key=True)
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"), primary_key=True)


class Absence(Base):
    """A is absent and B covers (AB岗) from `starts_at` until `until` (open-ended when None) or until cleared."""

    __tablename__ = "absences"
    __table_args__ = (Index("ix_absences_backup", "backup", "cleared_at"), Index("ix_absences_user", "username"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username", ondelete="CASCADE"))
    backup: Mapped[str] = mapped_column(ForeignKey("users.username", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    until: Mapped[datetime | None]
    cleared_at: Mapped[datetime | None]


class LoginFailure(Base):
    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_user_at", "username", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token of the JSON API; only its SHA-256 is kept, so a stolen table yields no usable token."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user", "username"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class AttachmentRecord(Base):
    """An upload to a case; the bytes live once on disk under their SHA-256 (content-addressed)."""

    __tablename__ = "attachments"
    __table_args__ = (
        UniqueConstraint("case_id", "sha256", name="uq_attachments_case_sha"),
        Index("ix_attachments_sha", "sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str | None] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime]
