from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LocalizedName(BaseModel):
    ja: str
    en: str


class MunicipalityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(description="全国地方公共団体コード (6 digits with check digit)")
    name: LocalizedName
    prefecture: str = Field(description="都道府県")
    fiscal_year_start_month: int


class MunicipalityList(BaseModel):
    items: list[MunicipalityRead]
    total: int
