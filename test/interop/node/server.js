'use strict';
// Node.js `ws` server for tether's client to drive.
// Usage: node server.js
// Prints {"event":"listening","url":...,"origin_url":...} once listening,
// then {"event":"closed","id","code","reason"} as each connection ends.
// Echoes every message; text commands:
//   cmd:info               reply {"subprotocol","extensions"} as JSON
//   cmd:ping               ping the client, reply "ping-ok …" or "ping-fail …"
//   cmd:close:CODE:REASON  close with CODE and REASON
// Path /origin accepts only Origin ORIGIN_ALLOWED (403 otherwise).
// Exits on SIGTERM or when stdin closes.
const { WebSocketServer } = require('ws');
const C = require('./common');

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  maxPayload: 8 << 20,
  perMessageDeflate: true,
  handleProtocols: (offered) => {
    for (const p of C.SUBPROTOCOLS_SERVER) if (offered.has(p)) return p;
    return false;
  },
  verifyClient: (info, cb) => {
    const path = new URL(info.req.url, 'http://x').pathname;
    if (path === '/origin' && info.origin !== C.ORIGIN_ALLOWED) {
      cb(false, 403, 'Forbidden origin');
      return;
    }
    cb(true);
  },
});

wss.on('connection', (ws, req) => {
  const id = C.idOf(req.url);
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      const text = data.toString();
      if (text === 'cmd:info') {
        ws.send(JSON.stringify({ subprotocol: ws.protocol, extensions: ws.extensions }));
        return;
      }
      if (text === 'cmd:ping') {
        const t0 = process.hrtime.bigint();
        const timer = setTimeout(() => ws.send('ping-fail: no pong within 5 s'), 5000);
        const onPong = (d) => {
          if (d.toString() !== 'peer-ping') return;
          clearTimeout(timer);
          ws.off('pong', onPong);
          ws.send(`ping-ok ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(3)} ms`);
        };
        ws.on('pong', onPong);
        ws.ping('peer-ping');
        return;
      }
      if (text.startsWith('cmd:close:')) {
        const [, , code, ...reason] = text.split(':');
        ws.close(Number(code), reason.join(':'));
        return;
      }
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on('close', (code, reason) => C.out({ event: 'closed', id, code, reason: reason.toString() }));
  ws.on('error', (e) => C.out({ event: 'error', id, detail: String(e.message) }));
});

wss.on('listening', () => {
  const { port } = wss.address();
  C.out({ event: 'listening', url: `ws://127.0.0.1:${port}`, origin_url: `ws://127.0.0.1:${port}/origin`, version: require('ws/package.json').version });
});

function stop() {
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => process.exit(0));
}
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
