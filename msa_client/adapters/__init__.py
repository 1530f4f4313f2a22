"""Adapters for the interfaces of :mod:`msa_client.interfaces`.

Optional hardware libraries (``bleak`` for BLE buttons, ``pyserial`` for GSM modems) are
imported only when such an adapter is opened, so the package works without them.
"""
