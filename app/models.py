"""Every table, imported in one place for Alembic's autogenerate and for tests."""

from app.db import Base
from app.forms.models import Procedure, ProcedureEvent, ProcedureVersion
from app.municipalities.models import Municipality

__all__ = ["Base", "Municipality", "Procedure", "ProcedureEvent", "ProcedureVersion"]
