"""Python imaplib as an IMAP client of Postflow: literals, quoting and the commands imaplib knows.

Usage: imaplib_client.py PORT USER PASSWORD. Prints one JSON object with what the server answered.
"""
import imaplib
import json
import sys

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = {}
M = imaplib.IMAP4("127.0.0.1", port)
out["capabilities"] = sorted(M.capabilities)
# imaplib quotes the password: backslash and double quote are escaped.
out["login"] = M.login(user, password)[0]
out["namespace"] = [x.decode() for x in M.namespace()[1]]
typ, data = M.select("INBOX")
out["select"] = [typ, data[0].decode()]
out["status"] = M.status("INBOX", "(MESSAGES UNSEEN UIDNEXT)")[1][0].decode()
# A search string in a synchronizing literal ({n} + continuation), UTF-8 charset.
M.literal = "Grüße".encode("utf-8")
out["search_literal"] = M.search("UTF-8", "SUBJECT")[1][0].decode()
out["search"] = M.search(None, "OR", "SEEN", "FLAGGED")[1][0].decode()
out["uid_search"] = M.uid("SEARCH", "FROM", '"bob"')[1][0].decode()
typ, data = M.fetch("1", "(UID RFC822.SIZE BODY.PEEK[])")
out["fetch_header"] = data[0][0].decode()
out["fetch_body"] = data[0][1].decode("utf-8")
out["noop"] = M.noop()[0]
out["bad_state"] = None
try:
    M.xatom("FROBNICATE")
except imaplib.IMAP4.error as err:
    out["bad_state"] = str(err)
out["logout"] = M.logout()[0]
print(json.dumps(out))
