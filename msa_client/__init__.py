"""MSA phone-side reference client of the device protocol, version 1 (no Django here).

- :mod:`msa_protocol` (a package of its own) — the wire format shared with the centre: keys, request
  signatures, the fallback SMS, the enrolment QR text, RFC 3339 times.
- :mod:`msa_client.models` — request and answer dataclasses, :class:`~msa_client.models.ApiError`.
- :mod:`msa_client.client` — :class:`~msa_client.client.DeviceClient` (retries, 5 s SMS fallback,
  clock-skew correction).
- :mod:`msa_client.session` — the press loop, the position backlog, the heartbeat loop.
- :mod:`msa_client.interfaces` and :mod:`msa_client.adapters` — buttons, positions, SMS.
- :mod:`msa_client.testing` — a fake clock and recording doubles for tests.
- :mod:`msa_client.cli` — the ``msa-client`` command.
"""
