"""Citizen routes of the auth domain: the My Number card login (`/auth/jpki/...`), the
signing document and prefill of a submission, and the citizen's own applications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.auth.citizen_tokens import CitizenTokenInvalid
from app.auth.jpki.router import router as jpki_router
from app.auth.jpki.router import submission_router as jpki_submission_router
from app.auth.jpki.schemas import MySubmission, MySubmissionList
from app.auth.principals import Caller, CitizenCaller, CitizenLoginRequired, get_caller
from app.dependencies import DbSession
from app.errors import problem_responses
from app.submissions import repository as submissions_repository

router = APIRouter()
router.include_router(jpki_router)
router.include_router(jpki_submission_router)


def get_citizen(caller: Annotated[Caller, Depends(get_caller)]) -> CitizenCaller:
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
    tags=["submissions"],
    responses=problem_responses(CitizenLoginRequired, CitizenTokenInvalid),
)
async def list_my_submissions(session: DbSession, citizen: CurrentCitizen) -> MySubmissionList:
    """The applications made while logged in with this My Number card, newest first."""
    submissions = await submissions_repository.list_for_citizen(session, citizen.citizen_subject)
    items = [
        MySubmission.model_validate(submission, from_attributes=True) for submission in submissions
    ]
    return MySubmissionList(items=items, total=len(items))
