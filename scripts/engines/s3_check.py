#!/usr/bin/env python3
"""Real S3 health check: a SigV4-signed ListBuckets (GET /) using only the stdlib.

usage: s3_check.py [endpoint] [access_key] [secret_key] [region]
Exit 0 when the server answers 200 with a ListAllMyBucketsResult, 1 otherwise.
"""
import datetime
import hashlib
import hmac
import http.client
import sys
import urllib.parse

endpoint = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:9000"
access_key = sys.argv[2] if len(sys.argv) > 2 else "postflow"
secret_key = sys.argv[3] if len(sys.argv) > 3 else "postflow-secret"
region = sys.argv[4] if len(sys.argv) > 4 else "us-east-1"
verbose = "-v" in sys.argv

u = urllib.parse.urlsplit(endpoint)
host = u.netloc
now = datetime.datetime.now(datetime.timezone.utc)
amz_date = now.strftime("%Y%m%dT%H%M%SZ")
date_stamp = now.strftime("%Y%m%d")
payload_hash = hashlib.sha256(b"").hexdigest()

canonical_headers = f"host:{host}\nx-amz-content-sha256:{payload_hash}\nx-amz-date:{amz_date}\n"
signed_headers = "host;x-amz-content-sha256;x-amz-date"
canonical_request = "\n".join(["GET", "/", "", canonical_headers, signed_headers, payload_hash])
scope = f"{date_stamp}/{region}/s3/aws4_request"
string_to_sign = "\n".join(
    ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
)


def _sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


k = _sign(("AWS4" + secret_key).encode(), date_stamp)
k = _sign(k, region)
k = _sign(k, "s3")
k = _sign(k, "aws4_request")
signature = hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest()

headers = {
    "Host": host,
    "x-amz-date": amz_date,
    "x-amz-content-sha256": payload_hash,
    "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
    f"SignedHeaders={signed_headers}, Signature={signature}",
}
try:
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=5)
    conn.request("GET", "/", headers=headers)
    resp = conn.getresponse()
    body = resp.read().decode("utf-8", "replace")
except OSError as e:
    if verbose:
        print(f"s3 check: {e}", file=sys.stderr)
    sys.exit(1)
ok = resp.status == 200 and "ListAllMyBucketsResult" in body
if verbose or not ok and "-q" not in sys.argv:
    print(f"s3 check: HTTP {resp.status} {body[:300]}", file=sys.stderr if not ok else sys.stdout)
sys.exit(0 if ok else 1)
