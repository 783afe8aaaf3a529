"""What every command (`python -m app.<domain> ...`) shares: an engine of its own for
the run, disposed at the end; one transaction; and how a refusal reaches the operator.

A command is an entry point like a request: it reads the clock once (`utcnow()`) and
passes `now` to the services it calls."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import make_engine, make_session_factory
from app.errors import AppError


@asynccontextmanager
async def command_database(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory on an engine made for this command and disposed after it."""
    engine = make_engine(database_url)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


@asynccontextmanager
async def command_transaction(database_url: str) -> AsyncIterator[AsyncSession]:
    """One session in one transaction (committed when the block ends without error)."""
    async with command_database(database_url) as factory, factory() as session, session.begin():
        yield session


def print_outcome(work: Coroutine[Any, Any, str]) -> int:
    """Run the command and print what it reports. A refusal (an AppError: unknown
    municipality, weak password ...) is printed to stderr in English and Japanese and
    the exit status is 1, never a traceback."""
    try:
        print(asyncio.run(work))
    except AppError as error:
        print(f"error: {error.detail_en} / {error.detail_ja}", file=sys.stderr)
        return 1
    return 0


@dataclass(frozen=True)
class SwitchCommand:
    """`prog COMMAND [--SWITCH]`: a module with one command and one on/off option, each
    given as (name, help)."""

    prog: str
    command: tuple[str, str]
    switch: tuple[str, str]

    def parse(self, argv: list[str] | None) -> bool:
        """True when the switch was given (argparse prints help and exits on bad input)."""
        parser = argparse.ArgumentParser(prog=self.prog)
        commands = parser.add_subparsers(dest="command", required=True)
        name, help_text = self.command
        switch, switch_help = self.switch
        commands.add_parser(name, help=help_text).add_argument(
            switch, action="store_true", dest="switch", help=switch_help
        )
        return bool(parser.parse_args(argv).switch)
