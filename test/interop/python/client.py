"""Python `websockets` client against a tether server.

Usage: /usr/bin/python3 client.py ws://127.0.0.1:PORT
Prints one JSON line per check: {"check","ok","detail",...}; the Go side
adds what the tether server saw (ids in "id"). Uses the asyncio
(legacy) API of websockets 10.x, as Debian packages it.
"""

import asyncio
import sys
import time

import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatusCode

import common as C

BASE = sys.argv[1] if len(sys.argv) > 1 else sys.exit("usage: client.py ws://host:port")


def connect(path, **kw):
    kw.setdefault("max_size", C.MAX_SIZE)
    kw.setdefault("ping_interval", None)
    return websockets.connect(BASE + path, **kw)


async def check(name, fn, **extra):
    try:
        r = await asyncio.wait_for(fn(), 30)
        C.out(check=name, **extra, **r)
    except Exception as e:  # noqa: BLE001 - every failure is a result
        C.out(check=name, ok=False, detail=f"{type(e).__name__}: {e}", **extra)


async def roundtrip(ws, data):
    await ws.send(data)
    got = await asyncio.wait_for(ws.recv(), 20)
    if type(got) is not type(data):
        return dict(ok=False, detail=f"echo is {type(got).__name__}, want {type(data).__name__}")
    if got != data:
        return dict(ok=False, detail=f"echo differs: {len(got)} items, want {len(data)}")
    n = len(data.encode()) if isinstance(data, str) else len(data)
    return dict(ok=True, detail=f"{n} bytes echoed intact")


async def main():
    ws = await connect("/echo?id=python-main")

    await check("text/ascii", lambda: roundtrip(ws, C.ASCII))
    await check("text/multibyte", lambda: roundtrip(ws, C.MULTIBYTE))
    for n in C.BINARY_SIZES:
        await check(C.binary_name(n), lambda n=n: roundtrip(ws, C.binary(n)))

    async def sequence():
        async def send():
            for i in range(C.SEQUENCE):
                await ws.send(f"seq {i}")

        async def recv():
            for i in range(C.SEQUENCE):
                got = await asyncio.wait_for(ws.recv(), 20)
                if got != f"seq {i}":
                    return dict(ok=False, detail=f"message {i}: got {got!r}")
            return dict(ok=True, detail=f"{C.SEQUENCE} messages echoed in order")

        _, r = await asyncio.gather(send(), recv())
        return r

    await check(f"sequence/{C.SEQUENCE}", sequence)

    async def deflate():
        header = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        for i in range(C.DEFLATE_MESSAGES):
            r = await roundtrip(ws, C.deflate_text(i))
            if not r["ok"]:
                return dict(ok=False, header=header, detail=f"message {i}: {r['detail']}")
        ok = "permessage-deflate" in header and "no_context_takeover" not in header
        return dict(ok=ok, header=header,
                    detail=f"negotiated: {header!r}; {C.DEFLATE_MESSAGES} compressible messages echoed")

    await check("deflate", deflate, id="python-main")

    async def ping_tether():
        await ws.send("cmd:ping")
        reply = await asyncio.wait_for(ws.recv(), 10)
        return dict(ok=reply.startswith("ping-ok"), detail=f"tether: {reply}")

    await check("ping/tether→peer", ping_tether)

    async def ping_peer():
        t0 = time.monotonic()
        waiter = await ws.ping(b"peer-ping")
        await asyncio.wait_for(waiter, 5)
        return dict(ok=True, detail=f"pong after {(time.monotonic() - t0) * 1000:.3f} ms")

    await check("ping/peer→tether", ping_peer)
    await ws.close(1000)

    async def subprotocol():
        async with connect("/proto?id=python-proto", subprotocols=C.SUBPROTOCOLS_CLIENT) as c:
            await c.send("cmd:info")
            import json
            info = json.loads(await asyncio.wait_for(c.recv(), 10))
        ok = c.subprotocol == C.SUBPROTOCOL_EXPECTED and info["subprotocol"] == C.SUBPROTOCOL_EXPECTED
        return dict(ok=ok, detail=(
            f"offered {','.join(C.SUBPROTOCOLS_CLIENT)} to server list {','.join(C.SUBPROTOCOLS_SERVER)}; "
            f"websockets got {c.subprotocol!r}, tether chose {info['subprotocol']!r}"))

    await check("subprotocol", subprotocol)

    async def close_peer():
        c = await connect("/echo?id=python-close-peer")
        await c.close(*C.CLOSE_PEER)
        code, reason = c.close_code, c.close_reason
        ok = code == C.CLOSE_PEER[0]  # RFC 6455 5.5.1: the code is echoed; the reason may not be
        return dict(ok=ok, peer_code=code, peer_reason=reason,
                    detail=f"websockets sent {C.CLOSE_PEER[0]}, got back {code} {reason!r}")

    await check("close/peer-initiated", close_peer, id="python-close-peer")

    async def close_tether():
        c = await connect("/echo?id=python-close-tether")
        await c.send(f"cmd:close:{C.CLOSE_TETHER[0]}:{C.CLOSE_TETHER[1]}")
        try:
            await asyncio.wait_for(c.recv(), 10)
        except ConnectionClosed:
            pass
        await c.wait_closed()
        code, reason = c.close_code, c.close_reason
        ok = (code, reason) == C.CLOSE_TETHER
        return dict(ok=ok, peer_code=code, peer_reason=reason, detail=f"websockets got {code} {reason!r}")

    await check("close/tether-initiated", close_tether, id="python-close-tether")

    async def origin():
        try:
            c = await connect("/origin?id=python-origin-bad", origin=C.ORIGIN_BAD)
            await c.close()
            return dict(ok=False, detail=f"Origin {C.ORIGIN_BAD} was accepted")
        except InvalidStatusCode as e:
            rejected = e.status_code
        async with connect("/origin?id=python-origin-ok", origin=C.ORIGIN_ALLOWED):
            pass
        return dict(ok=rejected == 403, detail=(
            f"Origin {C.ORIGIN_BAD}: HTTP {rejected}; Origin {C.ORIGIN_ALLOWED}: accepted"))

    await check("origin/rejected", origin, id="python-origin-bad")
    C.out(event="done")


if __name__ == "__main__":
    try:
        asyncio.run(asyncio.wait_for(main(), 90))
    except Exception as e:  # noqa: BLE001
        C.out(event="fatal", detail=f"{type(e).__name__}: {e}")
        sys.exit(1)
