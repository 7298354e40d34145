"""case check codes: cases.check_code, the code printed on the receipt for the public status lookup

Revision ID: 0012
Revises: 0011

Every case kept before this revision gets a random code here (the receipts it printed had none: the window
reprints the receipt, or tells the applicant the code from the case page).
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # engine.public_status.CHECK_ALPHABET, frozen with this revision


def upgrade() -> None:
    # plain ALTER TABLE (SQLite has ADD/DROP COLUMN): a batch copy of `cases` would break the rows referring to it
    op.add_column("cases", sa.Column("check_code", sa.String(16), nullable=True))
    cases = sa.table("cases", sa.column("id", sa.String), sa.column("check_code", sa.String))
    connection = op.get_bind()
    ids = [row[0] for row in connection.execute(sa.select(cases.c.id).where(cases.c.check_code.is_(None)))]
    for case_id in ids:
        code = "".join(secrets.choice(ALPHABET) for _ in range(6))
        connection.execute(cases.update().where(cases.c.id == case_id).values(check_code=code))


def downgrade() -> None:
    op.drop_column("cases", "check_code")
