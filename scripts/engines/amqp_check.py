#!/usr/bin/env python3
"""Real AMQP 0-9-1 health check, stdlib only: send the protocol header and expect the broker's
Connection.Start method frame (class 10, method 10). usage: amqp_check.py [host] [port] [-q]"""
import socket
import struct
import sys

args = [a for a in sys.argv[1:] if not a.startswith("-")]
host = args[0] if args else "127.0.0.1"
port = int(args[1]) if len(args) > 1 else 5672
try:
    with socket.create_connection((host, port), timeout=5) as s:
        s.settimeout(5)
        s.sendall(b"AMQP\x00\x00\x09\x01")
        buf = b""
        while len(buf) < 11:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    ftype, channel, size = struct.unpack(">BHI", buf[:7])
    cls, meth = struct.unpack(">HH", buf[7:11])
    ok = ftype == 1 and (cls, meth) == (10, 10)
except (OSError, struct.error) as e:
    ok, buf = False, str(e).encode()
if not ok and "-q" not in sys.argv:
    print(f"amqp check: no Connection.Start from {host}:{port}: {buf[:60]!r}", file=sys.stderr)
sys.exit(0 if ok else 1)
