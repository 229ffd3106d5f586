"""A real SMTP server for the mail tests: aiosmtpd writing into a Maildir.

usage: smtpd.py PORT MAILDIR CERT KEY TLS [--refuse-first N] [--auth USER:PASS]
                [--refuse-rcpt ADDRESS]...
TLS is starttls, implicit or none. --refuse-rcpt answers RCPT TO for that
address with 550 (no such user). Prints READY once listening.
"""
import argparse
import json
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult


class Handler(Mailbox):
    def __init__(self, maildir, refuse, refuse_rcpt):
        super().__init__(maildir)
        self.maildir = maildir
        self.refuse = refuse
        self.refuse_rcpt = [a.lower() for a in refuse_rcpt]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse_rcpt:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        with open(self.maildir + "/envelopes.jsonl", "a") as log:
            log.write(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos}) + "\n")
        return await super().handle_DATA(server, session, envelope)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("maildir")
    p.add_argument("cert")
    p.add_argument("key")
    p.add_argument("tls", choices=["starttls", "implicit", "none"])
    p.add_argument("--refuse-first", type=int, default=0)
    p.add_argument("--auth", default=None)
    p.add_argument("--refuse-rcpt", action="append", default=[])
    a = p.parse_args()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    kwargs = {}
    if a.auth:
        user, password = a.auth.split(":", 1)

        def check(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == user.encode() and auth_data.password == password.encode()
            return AuthResult(success=ok)

        kwargs.update(authenticator=check, auth_required=True, auth_require_tls=True)
    handler = Handler(a.maildir, a.refuse_first, a.refuse_rcpt)
    if a.tls == "implicit":
        # The whole connection is TLS; aiosmtpd only knows STARTTLS as "TLS".
        kwargs["auth_require_tls"] = False
        c = Controller(handler, hostname="127.0.0.1", port=a.port, ssl_context=ctx,
                       server_hostname="localhost", server_kwargs=kwargs)
    elif a.tls == "starttls":
        kwargs.update(tls_context=ctx, require_starttls=True)
        c = Controller(handler, hostname="127.0.0.1", port=a.port, server_kwargs=kwargs)
    else:
        kwargs["auth_require_tls"] = False
        c = Controller(handler, hostname="127.0.0.1", port=a.port, server_kwargs=kwargs)
    c.start()
    print("READY", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        c.stop()


if __name__ == "__main__":
    sys.exit(main())
