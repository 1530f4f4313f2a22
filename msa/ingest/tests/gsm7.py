"""GSM 7-bit packing (3GPP TS 23.038) for the tests: the reverse of
:func:`msa.ingest.aml_parse.gsm7_unpack`, so that the tests read messages we packed ourselves."""

from __future__ import annotations

from msa.ingest.aml_parse import GSM7_BASIC, GSM7_EXTENSION

_ESCAPE = 0x1B
_TO_SEPTET = {ch: i for i, ch in enumerate(GSM7_BASIC) if i != _ESCAPE}
_TO_EXTENSION = {ch: code for code, ch in GSM7_EXTENSION.items()}


def gsm7_pack(text: str) -> bytes:
    """The reverse of :func:`gsm7_unpack` (ValueError for a character outside GSM 7-bit)."""
    septets: list[int] = []
    for ch in text:
        if ch in _TO_SEPTET:
            septets.append(_TO_SEPTET[ch])
        elif ch in _TO_EXTENSION:
            septets.extend((_ESCAPE, _TO_EXTENSION[ch]))
        else:
            msg = f"not in the GSM 7-bit alphabet: {ch!r}"
            raise ValueError(msg)
    if len(septets) % 8 == 7:
        septets.append(0x0D)  # the eighth septet of a full group would read as '@'
    out = bytearray()
    carry = 0
    bits = 0
    for septet in septets:
        carry |= septet << bits
        bits += 7
        while bits >= 8:
            out.append(carry & 0xFF)
            carry >>= 8
            bits -= 8
    if bits:
        out.append(carry & 0xFF)
    return bytes(out)
