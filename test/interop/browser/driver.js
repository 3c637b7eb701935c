'use strict';
// Drives Debian's headless Chromium with playwright-core (installed in
// ../node by `npm ci`): loads the page served by tether's interop program
// and prints each result of its runChecks() as a JSON line.
// Usage: node driver.js http://127.0.0.1:PORT/ [chromium-path]
const path = require('path');
const fs = require('fs');
const os = require('os');
const { createRequire } = require('module');

const peerRequire = createRequire(path.join(__dirname, '..', 'node', 'package.json'));
const { chromium } = peerRequire('playwright-core');

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const pageURL = process.argv[2];
const exe = process.argv[3] || '/usr/bin/chromium';
if (!pageURL) {
  console.error('usage: node driver.js http://host:port/ [chromium]');
  process.exit(2);
}

async function main() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-interop-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: exe,
      headless: true,
      timeout: 60000,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
    const version = context.browser() ? context.browser().version() : '';
    const page = context.pages()[0] || await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') console.error('page console:', m.text()); });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(pageURL, { timeout: 30000 });
    const ua = await page.evaluate(() => navigator.userAgent);
    out({ event: 'browser', version: version || ua });
    const results = await page.evaluate(() => runChecks());
    for (const r of results) out(r);
    out({ event: 'done' });
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

const guard = setTimeout(() => {
  out({ event: 'fatal', detail: 'browser driver: global timeout (150 s)' });
  process.exit(3);
}, 150000);

main().then(() => {
  clearTimeout(guard);
  process.exit(0);
}, (e) => {
  out({ event: 'fatal', detail: String(e && e.stack || e) });
  process.exit(1);
});
