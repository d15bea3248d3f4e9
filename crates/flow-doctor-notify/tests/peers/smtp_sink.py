"""A real SMTP server (aiosmtpd) for flow-doctor's email tests.

Usage: python smtp_sink.py --dir DIR --port PORT [--auth USER:PASSWORD]
                           [--tls starttls|tls --cert CERT.pem --key KEY.pem]

Recipients whose address starts with `nobody-` are refused with 550 (a
user unknown to the server). Listens on 127.0.0.1:PORT and writes each
accepted message to DIR as
`<n>.json`: the envelope, every header, and each MIME part decoded to text,
so tests can assert on them without a MIME parser. With --auth, AUTH
PLAIN/LOGIN is required (without TLS, for loopback tests only). With
--tls starttls the server offers STARTTLS and refuses mail before it;
with --tls tls it speaks TLS from the first byte. Prints
READY once it accepts connections and stops on SIGTERM or when stdin closes.
"""

import argparse
import email
import email.policy
import json
import logging
import os
import signal
import ssl
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # A recipient the server does not know, as a real relay answers for
        # someone who left: tests use `nobody-...@` addresses for it.
        if address.lower().startswith("nobody-"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        parts = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            parts.append(
                {
                    "content_type": part.get_content_type(),
                    "text": part.get_content(),
                }
            )
        doc = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": [[k, str(v)] for k, v in msg.items()],
            "content_type": msg.get_content_type(),
            "parts": parts,
            "raw": raw.decode("utf-8", "replace"),
        }
        with self.lock:
            self.count += 1
            n = self.count
        path = os.path.join(self.folder, f"{n:04}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    # loopback AUTH without TLS is intended here; keep test output quiet
    warnings.simplefilter("ignore")
    # Tests refuse handshakes on purpose (an untrusted certificate); the
    # client's error is what they assert on, so the server keeps quiet.
    for name in ("mail.log", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--auth")
    parser.add_argument("--tls", choices=["starttls", "tls"])
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()

    kwargs = {}
    if args.tls:
        # A context usable on both sides: the controller also opens a
        # client connection to itself to check that it is up.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS)
        context.load_cert_chain(args.cert, args.key)
        if args.tls == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs.update(ssl_context=context)
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == user
                and auth_data.password.decode() == password
            )
            # handled=False: let aiosmtpd answer 535 on failure
            return AuthResult(success=ok, handled=False)

        kwargs.update(
            authenticator=authenticator,
            auth_required=True,
            # After STARTTLS only; aiosmtpd does not count implicit TLS as
            # TLS for this check, though every byte of it is encrypted.
            auth_require_tls=args.tls == "starttls",
        )

    controller = Controller(
        Sink(args.dir), hostname="127.0.0.1", port=args.port, **kwargs
    )
    controller.start()
    print("READY", flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def watch_stdin():
        sys.stdin.read()
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
