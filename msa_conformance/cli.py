"""``msa conformance BASE_URL --device-id ID --key KEY [--sms-gateway-token TOKEN]
[--duress-pin] [--rate-limit-max N]``: one line per rule of docs/protocol.md (PASS/FAIL, what
was sent, what came back); exit 1 on a failure."""

from __future__ import annotations

import argparse
import sys

from msa_conformance.kit import RATE_LIMIT_MAX, Kit
from msa_protocol import decode_key


def cmd_conformance(args: argparse.Namespace) -> int:
    try:
        key = decode_key(args.key)
    except ValueError as exc:
        print(f"msa conformance: the key is not valid: {exc}", file=sys.stderr)
        return 2
    kit = Kit(
        args.base_url,
        device_id=args.device_id,
        key=key,
        sms_gateway_token=args.sms_gateway_token,
        duress_pin=args.duress_pin,
        rate_limit_max=args.rate_limit_max,
    )
    failed = 0
    total = 0
    for result in kit.run():
        total += 1
        failed += 0 if result.passed else 1
        print(result.line(), flush=True)
    print(f"{total - failed}/{total} rules passed" + ("" if args.sms_gateway_token else
          " (no --sms-gateway-token: the fallback-SMS rules were not run)") + ("" if args.duress_pin
          else " (no --duress-pin: the duress PIN rule was not run)"))  # fmt: skip
    return 1 if failed else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base_url", metavar="BASE_URL", help="the centre, e.g. https://msa.example")
    parser.add_argument("--device-id", required=True, help="an enrolled device's id")
    parser.add_argument("--key", required=True, help="its key (base64url, as enrolled)")
    parser.add_argument(
        "--sms-gateway-token", default=None, help="the SMS gateway's token: also run the SMS rules"
    )
    parser.add_argument(
        "--duress-pin",
        action="store_true",
        help="also cancel a test alarm with the duress PIN: it ESCALATES at the centre, "
        "so only against a test centre",
    )
    parser.add_argument(
        "--rate-limit-max",
        type=int,
        default=RATE_LIMIT_MAX,
        metavar="N",
        help="heartbeats the rate-limit rule sends at most before it fails "
        f"(default {RATE_LIMIT_MAX}; 0 skips the rule)",
    )
    parser.set_defaults(func=cmd_conformance)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add_arguments(
        subparsers.add_parser(
            "conformance", help="check a running centre against the device protocol v1"
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="msa-conformance", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
