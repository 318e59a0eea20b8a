// What a browser transfers to open the console, against its 300 KB budget (issue 15).
//   build/voxgate serve --dev --port 8080 &
//   node bench/console_load.mjs [http://127.0.0.1:8080/]
// Loads the console cold in headless Debian Chromium (playwright-core from tests/web/node_modules,
// so run scripts/setup.sh --tests first), waits for the overview to show its data, and prints
// every response with its transferred bytes (compressed, headers included) and the total; then
// reloads to show what revalidation (ETag -> 304) costs.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/web/package.json'));
const { chromium } = require('playwright-core');
const url = process.argv[2] || 'http://127.0.0.1:8080/';
const budget = 300 * 1024;

const profile = mkdtempSync(path.join(tmpdir(), 'voxgate-console-load-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = context.pages()[0] || await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
  const rows = new Map();
  cdp.on('Network.responseReceived', (e) => rows.set(e.requestId, { url: e.response.url, status: e.response.status, bytes: 0 }));
  cdp.on('Network.loadingFinished', (e) => { if (rows.has(e.requestId)) rows.get(e.requestId).bytes = e.encodedDataLength; });
  const measure = async (label, action) => {
    rows.clear();
    await action();
    await page.waitForSelector('[data-page="overview"][data-ready="true"]', { timeout: 30000 });
    await page.waitForLoadState('networkidle');
    let total = 0;
    console.log(`\n${label}`);
    for (const r of rows.values()) {
      total += r.bytes;
      console.log(`  ${String(r.status).padEnd(4)} ${String(r.bytes).padStart(8)} B  ${new URL(r.url).pathname}`);
    }
    console.log(`  total ${(total / 1024).toFixed(1)} KB in ${rows.size} responses = ` +
      `${(100 * total / budget).toFixed(1)} % of the 300 KB budget`);
  };
  await measure('cold load of / up to the overview (--dev: no sign-in)', () => page.goto(url));
  await measure('reload (revalidated by ETag)', () => page.reload());
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
