"""マイページ: the applications of the citizen logged in with the My Number card."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.auth.citizen_tokens import CitizenTokenInvalid
from app.auth.principals import CitizenCaller, CitizenLoginRequired, CurrentCaller
from app.dependencies import DbSession
from app.errors import problem_responses
from app.submissions import repository
from app.submissions.schemas import MySubmission, MySubmissionList

router = APIRouter(tags=["submissions"])


def get_citizen(caller: CurrentCaller) -> CitizenCaller:
    """The logged-in citizen; 401 for anyone else (an access token is not a login)."""
    if not isinstance(caller, CitizenCaller):
        raise CitizenLoginRequired(
            "Log in with your My Number card to see your applications.",
            "申請の一覧を見るには、マイナンバーカードでログインしてください。",
        )
    return caller


CurrentCitizen = Annotated[CitizenCaller, Depends(get_citizen)]


@router.get(
    "/me/submissions",
    response_model=MySubmissionList,
    responses=problem_responses(CitizenLoginRequired, CitizenTokenInvalid),
)
async def list_my_submissions(session: DbSession, citizen: CurrentCitizen) -> MySubmissionList:
    """The applications made while logged in with this My Number card, newest first."""
    submissions = await repository.list_for_citizen(session, citizen.citizen_subject)
    items = [
        MySubmission.model_validate(submission, from_attributes=True) for submission in submissions
    ]
    return MySubmissionList(items=items, total=len(items))
