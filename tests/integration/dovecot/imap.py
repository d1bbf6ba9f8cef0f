#!/usr/bin/env python3
"""IMAP driver for the Dovecot plugin tests and bench (python3 imaplib, no other module).

    imap.py [--port P | --tls-port P --ca CA [--cert C --key K]] LOGIN STEP...

LOGIN is one of
    --user U --password W          LOGIN command (U may be BAL*PERSON: a master-user login)
    --external AUTHZID             AUTHENTICATE EXTERNAL (TLS client certificate)
Steps, run in order on one connection, each printing one line "STEP: ok [detail]" or
"STEP: no TEXT" (a NO or BAD) or "STEP: bye TEXT" (the server ended the session):
    select BOX | append BOX | fetch UID | peek UID | store UID FLAG | copy UID BOX |
    move UID BOX | expunge | create BOX | rename OLD NEW | delete BOX | list
The login prints "login: ok" / "login: no TEXT" / "login: bye TEXT". A session whose login
was accepted but which the server ends at once (Dovecot 2.3 when a plugin fails the user's
initialisation) prints "login: bye ...". Exit status: 0 when every line is "ok", 1 otherwise.
"""
import argparse
import imaplib
import socket
import ssl
import sys

MESSAGE = (b"From: Dr Test <test@hopital-test.mssante.fr>\r\n"
           b"To: cardiologie@hopital-test.mssante.fr\r\n"
           b"Subject: compte rendu confidentiel\r\n"
           b"Message-ID: <%s@hopital-test.mssante.fr>\r\n"
           b"\r\n"
           b"Corps du message: ne doit jamais apparaitre dans la trace.\r\n")


def text(data):
    parts = []
    for d in data or []:
        if isinstance(d, tuple):
            d = d[0]
        if isinstance(d, bytes):
            d = d.decode("utf-8", "replace")
        if d is not None:
            parts.append(str(d))
    return " ".join(parts)


class SourcedIMAP4(imaplib.IMAP4):
    """IMAP4 from a chosen loopback address: Dovecot's auth penalty is kept per client
    address, so tests that fail logins on purpose use addresses of their own."""

    def __init__(self, host, port, source, timeout):
        self._source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self._source, 0))


class SourcedIMAP4_SSL(imaplib.IMAP4_SSL):
    def __init__(self, host, port, source, ssl_context, timeout):
        self._source = source
        super().__init__(host, port, ssl_context=ssl_context, timeout=timeout)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=(self._source, 0))
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def connect(args):
    if args.tls_port:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(args.ca)
        if args.cert:
            ctx.load_cert_chain(args.cert, args.key)
        return SourcedIMAP4_SSL("127.0.0.1", args.tls_port, args.source, ctx, 30)
    return SourcedIMAP4("127.0.0.1", args.port, args.source, 30)


def login(imap, args):
    if args.external is not None:
        authzid = args.external.encode()
        typ, data = imap.authenticate("EXTERNAL", lambda _challenge: authzid)
    else:
        typ, data = imap.login(args.user, args.password)
    if typ != "OK":
        return "no " + text(data)
    # Dovecot 2.3 answers OK to the login, then BYE when the user's initialisation fails:
    # a NOOP shows which.
    typ, data = imap.noop()
    if typ != "OK":
        return "no " + text(data)
    return "ok"


def step(imap, name, argv, msg_counter):
    if name == "select":
        typ, data = imap.select(argv.pop(0))
        return typ, text(data), 1
    if name == "list":
        typ, data = imap.list()
        return typ, text(data), 0
    if name == "append":
        box = argv.pop(0)
        msg_counter[0] += 1
        msg = MESSAGE % ("test-%d" % msg_counter[0]).encode()
        typ, data = imap.append(box, None, None, msg)
        return typ, text(data), 1
    if name in ("fetch", "peek"):
        uid = argv.pop(0)
        item = "(BODY[])" if name == "fetch" else "(BODY.PEEK[])"
        typ, data = imap.uid("FETCH", uid, item)
        if typ == "OK" and not any(isinstance(d, tuple) for d in data or []):
            return "NO", "no message returned: " + text(data), 1
        return typ, "", 1
    if name == "store":
        uid, flag = argv.pop(0), argv.pop(0)
        typ, data = imap.uid("STORE", uid, "+FLAGS", "(%s)" % flag)
        return typ, text(data), 2
    if name in ("copy", "move"):
        uid, box = argv.pop(0), argv.pop(0)
        typ, data = imap.uid(name.upper(), uid, box)
        return typ, text(data), 2
    if name == "expunge":
        typ, data = imap.expunge()
        return typ, text(data), 0
    if name == "create":
        typ, data = imap.create(argv.pop(0))
        return typ, text(data), 1
    if name == "delete":
        typ, data = imap.delete(argv.pop(0))
        return typ, text(data), 1
    if name == "rename":
        old, new = argv.pop(0), argv.pop(0)
        typ, data = imap.rename(old, new)
        return typ, text(data), 2
    raise SystemExit("unknown step " + name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int)
    ap.add_argument("--tls-port", type=int)
    ap.add_argument("--ca")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--source", default="127.0.0.1")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--external")
    ap.add_argument("steps", nargs="*")
    args = ap.parse_args()

    failed = False
    try:
        imap = connect(args)
    except (OSError, ssl.SSLError) as e:
        print("connect: no %s" % e)
        return 1
    try:
        result = login(imap, args)
    except imaplib.IMAP4.abort as e:
        result = "bye %s" % e
    except imaplib.IMAP4.error as e:
        result = "no %s" % e
    except (OSError, ssl.SSLError) as e:
        result = "bye connection closed: %s" % e
    print("login: " + result)
    if result != "ok":
        return 1
    argv = list(args.steps)
    counter = [0]
    while argv:
        name = argv.pop(0)
        try:
            typ, detail, _ = step(imap, name, argv, counter)
            line = "ok" if typ == "OK" else "no " + detail
        except imaplib.IMAP4.abort as e:
            print("%s: bye %s" % (name, e))
            return 1
        except imaplib.IMAP4.error as e:
            line = "no %s" % e
        except (OSError, socket.timeout) as e:
            print("%s: bye %s" % (name, e))
            return 1
        if line != "ok":
            failed = True
        print("%s: %s" % (name, line))
    try:
        imap.logout()
    except (imaplib.IMAP4.error, OSError):
        pass
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
