#!/usr/bin/env python3
"""The IMAP client of the demo (python3 imaplib): logs in, opens INBOX, reads the message
whose Message-ID is given, and prints each server reply on its own line.

    imap_read.py PORT LOGIN PASSWORD MESSAGE-ID

Exit status: 0 when the login, SELECT and FETCH succeeded and the message was found, 1 else.
"""
import email
import email.policy
import imaplib
import sys


def line(cmd, typ, data):
    text = " ".join(d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d)
                    for d in (data or []) if not isinstance(d, tuple))
    print(f"{cmd}: {typ} {text}".rstrip())


def main():
    port, login, password, msgid = sys.argv[1:5]
    imap = imaplib.IMAP4("127.0.0.1", int(port), timeout=20)
    try:
        try:
            typ, data = imap.login(login, password)
        except imaplib.IMAP4.error as e:
            why = e.args[0].decode("utf-8", "replace") if e.args and isinstance(e.args[0], bytes) else str(e)
            print(f"LOGIN {login}: NO {why}")
            return 1
        line(f"LOGIN {login}", typ, data)
        try:
            typ, data = imap.select("INBOX")
        except imaplib.IMAP4.abort as e:
            print(f"SELECT INBOX: BYE {e}")
            return 1
        line("SELECT INBOX", typ, [f"{data[0].decode()} message(s)"] if typ == "OK" else data)
        if typ != "OK":
            return 1
        typ, data = imap.uid("SEARCH", None, "HEADER", "Message-ID", msgid)
        uids = data[0].split() if typ == "OK" and data and data[0] else []
        print(f"UID SEARCH HEADER Message-ID {msgid}: {typ} uid {' '.join(u.decode() for u in uids) or '(none)'}")
        if not uids:
            return 1
        typ, data = imap.uid("FETCH", uids[-1], "(BODY[])")
        raw = next((d[1] for d in data or [] if isinstance(d, tuple)), None)
        if typ != "OK" or raw is None:
            line(f"UID FETCH {uids[-1].decode()} BODY[]", typ, data)
            return 1
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        print(f"UID FETCH {uids[-1].decode()} BODY[]: OK {len(raw)} bytes, From: {msg['From']}, "
              f"Subject: {msg['Subject']}")
        imap.logout()
        return 0
    finally:
        try:
            imap.shutdown()
        except OSError:
            pass


sys.exit(main())
