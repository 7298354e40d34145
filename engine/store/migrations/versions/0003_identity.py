"""identity: departments, users, roles, memberships, absences, login failures, API tokens; attachments

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen copy: a migration must not change when the code's role list does.
_ROLES = {
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


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("parent", sa.String(length=64), nullable=True),
        sa.Column("leader", sa.String(length=100), nullable=True),
        sa.Column("supervises", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["parent"], ["departments.code"]),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_departments_parent", "departments", ["parent"])
    roles = op.create_table(
        "roles",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.bulk_insert(roles, [{"code": code, "name": name} for code, name in _ROLES.items()])
    op.create_table(
        "users",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department"], ["departments.code"]),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_index("ix_users_department", "users", ["department"])
    op.create_table(
        "memberships",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["username"], ["users.username"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["role"], ["roles.code"]),
        sa.ForeignKeyConstraint(["department"], ["departments.code"]),
        sa.PrimaryKeyConstraint("username", "role", "department"),
    )
    op.create_table(
        "absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("backup", sa.String(length=100), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["username"], ["users.username"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["backup"], ["users.username"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_absences_backup", "absences", ["backup", "cleared_at"])
    op.create_index("ix_absences_user", "absences", ["username"])
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failures_user_at", "login_failures", ["username", "at"])
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["username"], ["users.username"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_api_tokens_user", "api_tokens", ["username"])
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "sha256", name="uq_attachments_case_sha"),
    )
    op.create_index("ix_attachments_sha", "attachments", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_attachments_sha", table_name="attachments")
    op.drop_table("attachments")
    op.drop_index("ix_api_tokens_user", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("ix_login_failures_user_at", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_index("ix_absences_user", table_name="absences")
    op.drop_index("ix_absences_backup", table_name="absences")
    op.drop_table("absences")
    op.drop_table("memberships")
    op.drop_index("ix_users_department", table_name="users")
    op.drop_table("users")
    op.drop_table("roles")
    op.drop_index("ix_departments_parent", table_name="departments")
    op.drop_table("departments")
