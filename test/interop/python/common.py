"""Shared constants of the interop protocol (see node/common.js)."""

import json
import sys
from urllib.parse import parse_qs, urlsplit

ASCII = "Hello, tether! 0123456789 ~!@#$%^&*()"
MULTIBYTE = "héllo wörld — ✓ ünïcödé 日本語テキスト 🎉🚀 Ωμέγα"
BINARY_SIZES = [0, 125, 126, 65535, 65536, 1 << 20]
SEQUENCE = 1000
CLOSE_PEER = (4001, "peer bye ✓")
CLOSE_TETHER = (4002, "tether bye ✓")
SUBPROTOCOLS_SERVER = ["chat.v2", "chat.v1"]
SUBPROTOCOLS_CLIENT = ["x-unknown", "chat.v1", "chat.v2"]
SUBPROTOCOL_EXPECTED = "chat.v2"
ORIGIN_ALLOWED = "http://allowed.example"
ORIGIN_BAD = "http://evil.example"
DEFLATE_MESSAGES = 20
MAX_SIZE = 8 << 20


def binary(n):
    return bytes((i * 31 + 7) & 0xFF for i in range(n))


def binary_name(n):
    return "binary/1MiB" if n == 1 << 20 else f"binary/{n}"


def deflate_text(i):
    return f"deflate {i}: " + "tether speaks permessage-deflate with context takeover. " * 300


def out(**obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def id_of(path):
    return parse_qs(urlsplit(path).query).get("id", [""])[0]
