"""An independent SMTP server for smtpx's tests: aiosmtpd, from Debian's
python3-aiosmtpd, on 127.0.0.1 with STARTTLS and AUTH required.

    python3 aiosmtpd_server.py CERT KEY USERNAME PASSWORD OUTDIR

It prints the port it listens on, then writes each message it accepts to
OUTDIR/NNNN.json: the raw bytes (base64) and what Python's email package,
not Go's, decodes from them. It exits when its stdin closes.
"""

import asyncio
import base64
import json
import os
import re
import ssl
import sys

from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.utils import getaddresses

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def reply_to(raw):
    """Reply-To's (display name, address) pairs, the names decoded as RFC
    2047 section 6.2 says: white space between two encoded words is
    dropped. The email package's default policy keeps it in a display
    name, so it cannot even read back the long names it writes itself;
    its older decoder follows the RFC, once the value is unfolded."""
    legacy = message_from_bytes(raw, policy=policy.compat32)
    unfolded = [re.sub(r"\r?\n(?=[ \t])", "", v) for v in legacy.get_all("Reply-To", [])]
    return [
        [str(make_header(decode_header(name))), addr]
        for name, addr in getaddresses(unfolded)
    ]


class Recorder:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content
        msg = message_from_bytes(raw, policy=policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "login": getattr(session.auth_data, "login", b"").decode(),
            "raw": base64.b64encode(raw).decode(),
            "headers": [[name, str(value)] for name, value in msg.items()],
            "reply_to": reply_to(raw),
            "text": msg.get_body(preferencelist=("plain",)).get_content(),
            "defects": [repr(d) for d in msg.defects]
            + [f"{name}: {d!r}" for name, value in msg.items() for d in value.defects],
        }
        self.count += 1
        path = os.path.join(self.outdir, "%04d.json" % self.count)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 queued as %04d" % self.count


async def serve(cert, key, username, password, outdir):
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == username.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, auth_data=auth_data if ok else None)

    loop = asyncio.get_running_loop()
    handler = Recorder(outdir)
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname="localhost",
            tls_context=tls,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=authenticator,
            enable_SMTPUTF8=True,
            loop=loop,
        ),
        host="127.0.0.1",
        port=0,
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(serve(*sys.argv[1:6]))
