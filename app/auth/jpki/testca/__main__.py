"""`python -m app.auth.jpki.testca`: the TEST ONLY certificate authority's command line.

    init       make a trust directory with two generations of both CA types
    mint-card  issue a test My Number card (both keys and certificates) into a folder
    sign       sign a file or a text with a card's key -> base64 signature
    revoke     put one of a card's certificates on its CA's CRL, with a reason

The trust directory is `--trust-dir`, else JPKI_TRUST_DIR (the shipped test CA).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from cryptography import x509

from app.auth.jpki.facts import Era, Sex, parse_birth_date
from app.auth.jpki.testca import (
    DEFAULT_CARD_DAYS,
    DEFAULT_CRL_DAYS,
    CardHolder,
    TestCaHome,
    TestCard,
)
from app.auth.jpki.verifier import CertificateKind
from app.config import get_settings

_SEXES = {"1": Sex.MALE, "male": Sex.MALE, "男": Sex.MALE}
_SEXES |= {"2": Sex.FEMALE, "female": Sex.FEMALE, "女": Sex.FEMALE}
_SEXES |= {"3": Sex.UNKNOWN, "unknown": Sex.UNKNOWN, "不明": Sex.UNKNOWN}
_KEYS = {
    "auth": CertificateKind.AUTHENTICATION,
    "authentication": CertificateKind.AUTHENTICATION,
    "sign": CertificateKind.SIGNING,
    "signing": CertificateKind.SIGNING,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    trust_dir: Path = arguments.trust_dir or get_settings().jpki_trust_dir
    try:
        output = arguments.run(arguments, trust_dir)
    except (FileExistsError, FileNotFoundError, LookupError, ValueError) as exc:
        parser.exit(2, f"testca: {exc}\n")
    print(output)
    return 0


def _init(arguments: argparse.Namespace, trust_dir: Path) -> str:
    generations = [int(year) for year in arguments.generations.split(",")]
    home = TestCaHome.init(
        trust_dir, generations=generations, crl_days=arguments.crl_days, force=arguments.force
    )
    lines = [f"TEST ONLY CA initialised in {home.trust_dir}"]
    lines += [f"  {a.kind.value} CA {a.generation}" for a in home.authorities()]
    return "\n".join(lines)


def _mint_card(arguments: argparse.Namespace, trust_dir: Path) -> str:
    era, birth_date = _birth_date(arguments.birth_date)
    holder = CardHolder(
        name=arguments.name,
        birth_date=birth_date,
        sex=_SEXES[arguments.sex],
        address=arguments.address,
        birth_era=era,
    )
    card = TestCaHome(trust_dir).mint_card(
        holder, generation=arguments.generation, valid_days=arguments.valid_days
    )
    card.save(arguments.out)
    return f"TEST ONLY card for {holder.name} written to {arguments.out}"


def _sign(arguments: argparse.Namespace, trust_dir: Path) -> str:
    card = TestCard.load(arguments.card)
    kind = _KEYS[arguments.key]
    if arguments.text is not None:
        data = arguments.text.encode("utf-8")
    elif str(arguments.file) == "-":
        data = sys.stdin.buffer.read()
    else:
        data = Path(arguments.file).read_bytes()
    signature = base64.b64encode(card.sign(kind, data)).decode()
    if not arguments.json:
        return signature
    certificate = base64.b64encode(card.certificate_der(kind)).decode()
    return json.dumps({"signature": signature, "certificate": certificate})


def _revoke(arguments: argparse.Namespace, trust_dir: Path) -> str:
    card = TestCard.load(arguments.card)
    certificate = card.certificate(_KEYS[arguments.certificate])
    path = TestCaHome(trust_dir).revoke(
        certificate, _reason(arguments.reason), crl_days=arguments.crl_days
    )
    return f"serial {certificate.serial_number:x} revoked ({arguments.reason}); new CRL {path}"


def _birth_date(text: str) -> tuple[Era | None, date | None]:
    """YYYY-MM-DD (the era follows from the date) or J-LIS's own EYYYYMMDD."""
    if len(text) == 9 and text.isdigit():
        return parse_birth_date(text)
    return None, date.fromisoformat(text)


def _reason(text: str) -> x509.ReasonFlags:
    for reason in x509.ReasonFlags:
        if text in (reason.name, reason.value):
            return reason
    names = ", ".join(reason.name for reason in x509.ReasonFlags)
    raise ValueError(f"unknown reason {text!r}; one of {names}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.auth.jpki.testca",
        description="TEST ONLY certificate authority and My Number test cards (not J-LIS).",
    )
    parser.add_argument(
        "--trust-dir", type=Path, help="trust directory of the test CA (default: JPKI_TRUST_DIR)"
    )
    commands = parser.add_subparsers(required=True, metavar="command")

    init = commands.add_parser("init", help="create the test CAs and their empty CRLs")
    init.add_argument("--generations", default="2015,2023", help="CA generations (years)")
    init.add_argument("--crl-days", type=int, default=DEFAULT_CRL_DAYS)
    init.add_argument("--force", action="store_true", help="replace an existing directory")
    init.set_defaults(run=_init)

    mint = commands.add_parser("mint-card", help="issue a test card into a folder")
    mint.add_argument("--name", required=True, help="氏名, surname and given name split by 　")
    mint.add_argument("--birth-date", required=True, help="YYYY-MM-DD or EYYYYMMDD")
    mint.add_argument("--sex", required=True, choices=sorted(_SEXES), help="1 男, 2 女, 3 不明")
    mint.add_argument("--address", required=True, help="住所")
    mint.add_argument("--out", required=True, type=Path, help="card folder to write")
    mint.add_argument("--generation", type=int, help="CA generation (default: the newest)")
    mint.add_argument("--valid-days", type=int, default=DEFAULT_CARD_DAYS)
    mint.set_defaults(run=_mint_card)

    sign = commands.add_parser("sign", help="sign with a card's key; prints base64")
    sign.add_argument("--card", required=True, type=Path)
    sign.add_argument("--key", required=True, choices=sorted(_KEYS))
    source = sign.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", help="file to sign ('-' for stdin)")
    source.add_argument("--text", help="text to sign as UTF-8 (e.g. a login nonce)")
    sign.add_argument(
        "--json", action="store_true", help='print {"signature", "certificate"} (base64)'
    )
    sign.set_defaults(run=_sign)

    revoke = commands.add_parser("revoke", help="revoke a card certificate (new CRL)")
    revoke.add_argument("--card", required=True, type=Path)
    revoke.add_argument("--certificate", required=True, choices=sorted(_KEYS))
    revoke.add_argument(
        "--reason",
        required=True,
        help="affiliation_changed (住所変更等), key_compromise (紛失), "
        "cessation_of_operation (廃止), superseded, unspecified...",
    )
    revoke.add_argument("--crl-days", type=int, default=DEFAULT_CRL_DAYS)
    revoke.set_defaults(run=_revoke)
    return parser


if __name__ == "__main__":
    sys.exit(main())
