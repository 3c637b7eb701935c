"""Python `websockets` server for tether's client to drive.

Usage: /usr/bin/python3 server.py
Prints {"event":"listening","url":...,"origin_url":...} once listening, then
{"event":"closed","id","code","reason"} as each connection ends. Echoes
every message; text commands:
  cmd:info               reply {"subprotocol","extensions"} as JSON
  cmd:ping               ping the client, reply "ping-ok …" or "ping-fail …"
  cmd:close:CODE:REASON  close with CODE and REASON
The second server (origin_url) accepts only Origin ORIGIN_ALLOWED.
Exits on SIGTERM or when stdin closes.
"""

import asyncio
import json
import signal
import sys
import threading
import time

import websockets
from websockets.exceptions import ConnectionClosed

import common as C


async def handler(ws):
    cid = C.id_of(ws.path)
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith("cmd:"):
                if msg == "cmd:info":
                    await ws.send(json.dumps({
                        "subprotocol": ws.subprotocol or "",
                        "extensions": ws.response_headers.get("Sec-WebSocket-Extensions", ""),
                    }))
                elif msg == "cmd:ping":
                    t0 = time.monotonic()
                    try:
                        waiter = await ws.ping(b"peer-ping")
                        await asyncio.wait_for(waiter, 5)
                        await ws.send(f"ping-ok {(time.monotonic() - t0) * 1000:.3f} ms")
                    except asyncio.TimeoutError:
                        await ws.send("ping-fail: no pong within 5 s")
                elif msg.startswith("cmd:close:"):
                    _, _, code, reason = msg.split(":", 3)
                    await ws.close(int(code), reason)
                continue
            await ws.send(msg)
    except ConnectionClosed:
        pass
    await ws.wait_closed()
    C.out(event="closed", id=cid, code=ws.close_code, reason=ws.close_reason)


async def main():
    loop = asyncio.get_running_loop()
    stop = loop.create_future()

    def done(*_):
        if not stop.done():
            stop.set_result(None)

    loop.add_signal_handler(signal.SIGTERM, done)

    def watch_stdin():
        sys.stdin.read()
        loop.call_soon_threadsafe(done)

    threading.Thread(target=watch_stdin, daemon=True).start()

    common = dict(subprotocols=C.SUBPROTOCOLS_SERVER, max_size=C.MAX_SIZE, ping_interval=None)
    async with websockets.serve(handler, "127.0.0.1", 0, **common) as main_srv, \
            websockets.serve(handler, "127.0.0.1", 0, origins=[C.ORIGIN_ALLOWED], **common) as origin_srv:
        port = main_srv.sockets[0].getsockname()[1]
        oport = origin_srv.sockets[0].getsockname()[1]
        C.out(event="listening", url=f"ws://127.0.0.1:{port}",
              origin_url=f"ws://127.0.0.1:{oport}/origin", version=websockets.__version__)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
