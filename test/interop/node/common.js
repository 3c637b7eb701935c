'use strict';
// Shared constants of the interop protocol. The Go side
// (test/interop/cmd/interop/protocol.go), python/common.py and
// browser/index.html use the same values.

const ASCII = 'Hello, tether! 0123456789 ~!@#$%^&*()';
const MULTIBYTE = 'héllo wörld — ✓ ünïcödé 日本語テキスト 🎉🚀 Ωμέγα';
const BINARY_SIZES = [0, 125, 126, 65535, 65536, 1 << 20];
const SEQUENCE = 1000;
const CLOSE_PEER = { code: 4001, reason: 'peer bye ✓' };
const CLOSE_TETHER = { code: 4002, reason: 'tether bye ✓' };
const SUBPROTOCOLS_SERVER = ['chat.v2', 'chat.v1'];
const SUBPROTOCOLS_CLIENT = ['x-unknown', 'chat.v1', 'chat.v2'];
const SUBPROTOCOL_EXPECTED = 'chat.v2';
const ORIGIN_ALLOWED = 'http://allowed.example';
const ORIGIN_BAD = 'http://evil.example';
const DEFLATE_MESSAGES = 20;

function binary(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

function binaryName(n) {
  return n === 1 << 20 ? 'binary/1MiB' : `binary/${n}`;
}

// deflateText is the i-th compressible message of the deflate check.
function deflateText(i) {
  return `deflate ${i}: ` + 'tether speaks permessage-deflate with context takeover. '.repeat(300);
}

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function idOf(url) {
  const u = new URL(url, 'http://x');
  return u.searchParams.get('id') || '';
}

// Inbox turns a ws client's events into awaitable reads.
class Inbox {
  constructor(ws) {
    this.ws = ws;
    this.items = [];
    this.waiters = [];
    this.closed = null;
    this.closeWaiters = [];
    ws.on('message', (data, isBinary) => this.push({ data: Buffer.from(data), isBinary }));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.waiters.splice(0)) w.reject(new Error(`connection closed ${code} ${reason}`));
      for (const w of this.closeWaiters.splice(0)) w(this.closed);
    });
  }
  push(m) {
    const w = this.waiters.shift();
    if (w) w.resolve(m); else this.items.push(m);
  }
  next(timeoutMs = 10000) {
    if (this.items.length) return Promise.resolve(this.items.shift());
    if (this.closed) return Promise.reject(new Error(`connection closed ${this.closed.code}`));
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      const t = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      w.resolve = (m) => { clearTimeout(t); resolve(m); };
      w.reject = (e) => { clearTimeout(t); reject(e); };
      this.waiters.push(w);
    });
  }
  waitClose(timeoutMs = 10000) {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no close within ${timeoutMs} ms`)), timeoutMs);
      this.closeWaiters.push((c) => { clearTimeout(t); resolve(c); });
    });
  }
}

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`${what}: timeout after ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

module.exports = {
  ASCII, MULTIBYTE, BINARY_SIZES, SEQUENCE, CLOSE_PEER, CLOSE_TETHER,
  SUBPROTOCOLS_SERVER, SUBPROTOCOLS_CLIENT, SUBPROTOCOL_EXPECTED,
  ORIGIN_ALLOWED, ORIGIN_BAD, DEFLATE_MESSAGES,
  binary, binaryName, deflateText, out, idOf, Inbox, withTimeout,
};
