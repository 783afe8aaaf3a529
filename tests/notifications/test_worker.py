"""`python -m app.notifications worker`, as production runs it: a separate process that
reads its settings from the environment and delivers what the web workers queued."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx

from app.config import Settings
from tests.notifications.conftest import EMAIL, PROCEDURE, MailServer
from tests.submissions.helpers import create

PROJECT_ROOT = Path(__file__).resolve().parents[2]


async def _worker(settings: Settings, *args: str, **env: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "app.notifications", "worker", *args),
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "ENVIRONMENT": "test",
            "DATABASE_URL": settings.database_url,
            "LOG_LEVEL": "WARNING",
            "MAIL_FROM": settings.mail_from,
            "SMTP_STARTTLS": "false",
            **env,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_worker_delivers_what_the_app_queued(
    api: httpx.AsyncClient, with_email: str, settings: Settings, mail_server: MailServer
) -> None:
    answers = {"copies": 1, "requester": "self", "applicant_email": EMAIL}
    created = await create(api, answers, submit=True, procedure=PROCEDURE)
    assert created.status_code == 201, created.text
    smtp = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail_server.port)}

    code, out, err = await _worker(settings, "--once", **smtp)
    assert code == 0, err
    assert json.loads(out) == {"sent": 1, "retrying": 0, "failed": 0}
    [message] = mail_server.received
    assert created.json()["reference_number"] in str(message["Subject"])

    again, out, err = await _worker(settings, "--once", **smtp)
    assert again == 0, err
    assert json.loads(out)["sent"] == 0
    assert len(mail_server.received) == 1


async def test_without_smtp_host_the_worker_refuses_to_start(settings: Settings) -> None:
    code, _, err = await _worker(settings, "--once", SMTP_HOST="")
    assert code != 0
    assert "SMTP_HOST is not set" in err
