"""hourly volume kept after retention

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 15:25:11.253798
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hourly_volume",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("area", sa.String(length=200), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("hour", "area", "platform", name="uq_hourly_volume_hour_area_platform"),
    )


def downgrade() -> None:
    op.drop_table("hourly_volume")
