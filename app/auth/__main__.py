"""`python -m app.auth create-staff ...`: create a staff account, typically a
municipality's first admin (later accounts are made through the admin API).

The password never goes on the command line (it would sit in shell history and in
`ps`): it is read from `--password-stdin`, from MADOGUCHI_STAFF_PASSWORD, or prompted.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from app.audit.service import AuditActor
from app.auth import staff_service
from app.commands import command_transaction, print_outcome
from app.config import get_settings

PASSWORD_ENV = "MADOGUCHI_STAFF_PASSWORD"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.auth")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-staff", help="create a staff account")
    create.add_argument("--municipality", required=True, help="全国地方公共団体コード, e.g. 202193")
    create.add_argument("--email", required=True, help="the login id")
    create.add_argument("--department", required=True, help="所属課 as in definitions, e.g. 市民課")
    create.add_argument("--roles", required=True, help="comma-separated: admin,reviewer,...")
    create.add_argument("--display-name", default="", help="defaults to the email address")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    return parser


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != password:
        raise SystemExit("The passwords do not match.")
    return password


async def create_staff(args: argparse.Namespace, password: str) -> str:
    async with command_transaction(get_settings().database_url) as session:
        staff = await staff_service.create_staff(
            session,
            AuditActor("system", "create-staff"),
            municipality_code=args.municipality,
            email=args.email,
            display_name=args.display_name,
            department=args.department,
            roles=args.roles.split(","),
            password=password,
        )
        return f"created {staff.email} ({', '.join(staff.roles)}) id={staff.id}"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return print_outcome(create_staff(args, _read_password(args.password_stdin)))


if __name__ == "__main__":
    sys.exit(main())
