#!/usr/bin/env python3
"""Real CQL health check over the native protocol (v4), stdlib only.

Sends STARTUP {CQL_VERSION: 3.0.0} (expects READY), then
QUERY "SELECT release_version FROM system.local" (expects a RESULT/Rows frame) and prints the
release version. usage: cql_check.py [host] [port] [-q]; exit 0 on success, 1 otherwise.
"""
import socket
import struct
import sys

args = [a for a in sys.argv[1:] if not a.startswith("-")]
host = args[0] if args else "127.0.0.1"
port = int(args[1]) if len(args) > 1 else 9042
quiet = "-q" in sys.argv

OP_ERROR, OP_STARTUP, OP_READY, OP_QUERY, OP_RESULT = 0x00, 0x01, 0x02, 0x07, 0x08


def short_string(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def frame(stream, opcode, body):
    return struct.pack(">BBhBI", 0x04, 0x00, stream, opcode, len(body)) + body


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by server")
        buf += chunk
    return buf


def read_frame(sock):
    version, flags, stream, opcode, length = struct.unpack(">BBhBI", recv_exact(sock, 9))
    return opcode, recv_exact(sock, length)


def fail(msg):
    if not quiet:
        print(f"cql check: {msg}", file=sys.stderr)
    sys.exit(1)


def error_text(body):
    code = struct.unpack(">i", body[:4])[0]
    (n,) = struct.unpack(">H", body[4:6])
    return f"error 0x{code:04x}: {body[6:6 + n].decode(errors='replace')}"


try:
    sock = socket.create_connection((host, port), timeout=5)
    sock.settimeout(10)
    sock.sendall(frame(1, OP_STARTUP, struct.pack(">H", 1) + short_string("CQL_VERSION") + short_string("3.0.0")))
    opcode, body = read_frame(sock)
    if opcode != OP_READY:
        fail(f"STARTUP answered opcode 0x{opcode:02x}" + (f" ({error_text(body)})" if opcode == OP_ERROR else ""))
    q = "SELECT release_version FROM system.local".encode()
    sock.sendall(frame(2, OP_QUERY, struct.pack(">I", len(q)) + q + struct.pack(">HB", 0x0001, 0x00)))
    opcode, body = read_frame(sock)
    sock.close()
except (OSError, ConnectionError, struct.error) as e:
    fail(str(e))

if opcode != OP_RESULT:
    fail(f"QUERY answered opcode 0x{opcode:02x}" + (f" ({error_text(body)})" if opcode == OP_ERROR else ""))

# RESULT kind Rows (0x0002): metadata, then rows.
version = "?"
try:
    pos = 0
    (kind,) = struct.unpack_from(">i", body, pos); pos += 4
    if kind == 0x0002:
        flags, ncols = struct.unpack_from(">ii", body, pos); pos += 8
        if flags & 0x0002:  # paging state
            (n,) = struct.unpack_from(">i", body, pos); pos += 4 + max(n, 0)
        if not flags & 0x0004:
            def skip_string():
                global pos
                (n,) = struct.unpack_from(">H", body, pos); pos += 2 + n
            if flags & 0x0001:
                skip_string(); skip_string()
            for _ in range(ncols):
                if not flags & 0x0001:
                    skip_string(); skip_string()
                skip_string()
                pos += 2  # type id (varchar: no extra payload)
        (nrows,) = struct.unpack_from(">i", body, pos); pos += 4
        if nrows > 0:
            (n,) = struct.unpack_from(">i", body, pos); pos += 4
            version = body[pos:pos + n].decode()
except struct.error:
    pass
if not quiet:
    print(f"cassandra release_version {version}")
sys.exit(0)
