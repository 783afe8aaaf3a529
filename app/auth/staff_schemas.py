from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.auth.staff_models import StaffRole
from app.text import Name


class StaffToken(BaseModel):
    """The OAuth2 token response (RFC 6749 §5.1)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


class StaffRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    municipality_code: str
    email: str
    display_name: str
    department: str = Field(description="所属課, as in the definitions' department.ja")
    roles: list[StaffRole]
    disabled_at: datetime | None
    created_at: datetime


class StaffList(BaseModel):
    items: list[StaffRead]
    total: int


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254, description="The login id")
    display_name: Name = Field(min_length=1, max_length=100)
    department: Name = Field(min_length=1, max_length=100, examples=["市民課"])
    roles: list[StaffRole] = Field(min_length=1)
    password: str = Field(description="The first password; at least 12 characters")


class StaffUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: Name | None = Field(default=None, min_length=1, max_length=100)
    department: Name | None = Field(default=None, min_length=1, max_length=100)
    roles: list[StaffRole] | None = Field(default=None, min_length=1)
    disabled: bool | None = Field(
        default=None, description="true: the account loses access on its next request"
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str
    new_password: str
