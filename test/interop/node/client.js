'use strict';
// Node.js `ws` client against a tether server.
// Usage: node client.js ws://127.0.0.1:PORT
// Prints one JSON line per check: {"check","ok","detail",...}; the Go side
// adds what the tether server saw (ids in "id").
const WebSocket = require('ws');
const C = require('./common');

const base = process.argv[2];
if (!base) {
  console.error('usage: node client.js ws://host:port');
  process.exit(2);
}
const guard = setTimeout(() => {
  C.out({ event: 'fatal', detail: 'node client: global timeout (90 s)' });
  process.exit(3);
}, 90000);

function open(path, protocols, opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base + path, protocols, { maxPayload: 8 << 20, ...opts });
    const inbox = new C.Inbox(ws);
    ws.once('open', () => resolve(inbox));
    ws.once('error', reject);
  });
}

async function check(name, fn, extra = {}) {
  try {
    const r = await C.withTimeout(fn(), 30000, name);
    C.out({ check: name, ...extra, ...r });
  } catch (e) {
    C.out({ check: name, ok: false, detail: String(e && e.message || e), ...extra });
  }
}

async function roundtrip(inbox, data, isBinary) {
  inbox.ws.send(data, { binary: isBinary });
  const m = await inbox.next(20000);
  const want = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  if (m.isBinary !== isBinary) return { ok: false, detail: `echo has binary=${m.isBinary}, want ${isBinary}` };
  if (!m.data.equals(want)) return { ok: false, detail: `echo differs: ${m.data.length} bytes, want ${want.length}` };
  return { ok: true, detail: `${want.length} bytes echoed intact` };
}

async function main() {
  const main = await open('/echo?id=node-main');
  const sawPing = [];
  main.ws.on('ping', (d) => sawPing.push(d.toString()));

  await check('text/ascii', () => roundtrip(main, C.ASCII, false));
  await check('text/multibyte', () => roundtrip(main, C.MULTIBYTE, false));
  for (const n of C.BINARY_SIZES) {
    await check(C.binaryName(n), () => roundtrip(main, C.binary(n), true));
  }
  await check(`sequence/${C.SEQUENCE}`, async () => {
    for (let i = 0; i < C.SEQUENCE; i++) main.ws.send(`seq ${i}`);
    for (let i = 0; i < C.SEQUENCE; i++) {
      const m = await main.next(20000);
      if (m.data.toString() !== `seq ${i}`) return { ok: false, detail: `message ${i}: got ${JSON.stringify(m.data.toString())}` };
    }
    return { ok: true, detail: `${C.SEQUENCE} messages echoed in order` };
  });
  await check('deflate', async () => {
    const header = main.ws.extensions || '';
    for (let i = 0; i < C.DEFLATE_MESSAGES; i++) {
      const r = await roundtrip(main, C.deflateText(i), false);
      if (!r.ok) return { ok: false, header, detail: `message ${i}: ${r.detail}` };
    }
    const ok = /permessage-deflate/.test(header) && !/no_context_takeover/.test(header);
    return { ok, header, detail: `negotiated: ${JSON.stringify(header)}; ${C.DEFLATE_MESSAGES} compressible messages echoed` };
  }, { id: 'node-main' });
  await check('ping/tether→peer', async () => {
    main.ws.send('cmd:ping');
    const m = await main.next(10000);
    const reply = m.data.toString();
    const ok = reply.startsWith('ping-ok') && sawPing.includes('tether-ping');
    return { ok, detail: `tether: ${reply}; ws saw ping ${JSON.stringify(sawPing)}` };
  });
  await check('ping/peer→tether', () => new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    main.ws.on('pong', (d) => {
      if (d.toString() === 'peer-ping') {
        resolve({ ok: true, detail: `pong "peer-ping" after ${Number(process.hrtime.bigint() - t0) / 1e6} ms` });
      }
    });
    main.ws.ping('peer-ping');
  }));
  main.ws.close(1000);
  await main.waitClose().catch(() => {});

  await check('subprotocol', async () => {
    const c = await open('/proto?id=node-proto', C.SUBPROTOCOLS_CLIENT);
    c.ws.send('cmd:info');
    const info = JSON.parse((await c.next()).data.toString());
    c.ws.close(1000);
    await c.waitClose().catch(() => {});
    const ok = c.ws.protocol === C.SUBPROTOCOL_EXPECTED && info.subprotocol === C.SUBPROTOCOL_EXPECTED;
    return { ok, detail: `offered ${C.SUBPROTOCOLS_CLIENT.join(',')} to server list ${C.SUBPROTOCOLS_SERVER.join(',')}; ws got ${JSON.stringify(c.ws.protocol)}, tether chose ${JSON.stringify(info.subprotocol)}` };
  });

  await check('close/peer-initiated', async () => {
    const c = await open('/echo?id=node-close-peer');
    c.ws.close(C.CLOSE_PEER.code, C.CLOSE_PEER.reason);
    const got = await c.waitClose();
    // RFC 6455 5.5.1: the peer echoes the code; echoing the reason is optional.
    const ok = got.code === C.CLOSE_PEER.code;
    return { ok, peer_code: got.code, peer_reason: got.reason, detail: `ws sent ${C.CLOSE_PEER.code}, got back ${got.code} ${JSON.stringify(got.reason)}` };
  }, { id: 'node-close-peer' });

  await check('close/tether-initiated', async () => {
    const c = await open('/echo?id=node-close-tether');
    c.ws.send(`cmd:close:${C.CLOSE_TETHER.code}:${C.CLOSE_TETHER.reason}`);
    const got = await c.waitClose();
    const ok = got.code === C.CLOSE_TETHER.code && got.reason === C.CLOSE_TETHER.reason;
    return { ok, peer_code: got.code, peer_reason: got.reason, detail: `ws got ${got.code} ${JSON.stringify(got.reason)}` };
  }, { id: 'node-close-tether' });

  await check('origin/rejected', async () => {
    let rejected = '';
    try {
      const c = await open('/origin?id=node-origin-bad', undefined, { origin: C.ORIGIN_BAD });
      c.ws.close(1000);
      return { ok: false, detail: `Origin ${C.ORIGIN_BAD} was accepted` };
    } catch (e) {
      rejected = String(e.message);
    }
    const good = await open('/origin?id=node-origin-ok', undefined, { origin: C.ORIGIN_ALLOWED });
    good.ws.close(1000);
    await good.waitClose().catch(() => {});
    const ok = /\b403\b/.test(rejected);
    return { ok, detail: `Origin ${C.ORIGIN_BAD}: ws error ${JSON.stringify(rejected)}; Origin ${C.ORIGIN_ALLOWED}: accepted` };
  }, { id: 'node-origin-bad' });

  C.out({ event: 'done' });
}

main().then(() => {
  clearTimeout(guard);
  process.exit(0);
}, (e) => {
  C.out({ event: 'fatal', detail: String(e && e.stack || e) });
  process.exit(1);
});
