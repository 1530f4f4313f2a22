"""msa_client is imported by phones and by the centre: it must never pull in Django."""

import subprocess
import sys


def test_msa_client_never_imports_django():
    code = (
        "import sys\n"
        "import msa_client.cli, msa_client.testing, msa_client.adapters.buttons\n"
        "import msa_client.adapters.positions, msa_client.adapters.sms\n"
        "banned = {'django', 'msa', 'bleak', 'serial'}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in banned)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
