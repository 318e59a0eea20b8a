// The console's end-to-end harness: a real `voxgate serve` (authentication on, SIP on, the starter
// model), real nginx-rtmp, real SIPp with voxgate_rtp_player, real speech, and headless Debian
// Chromium driven by playwright-core whose fake microphone plays that speech.
//
// Every process started here is registered and ended on teardown, on a test failure and when the
// node process exits (SIGKILL as the last resort). Nothing here sleeps for a fixed time to let
// something happen: it waits on process output, sockets, HTTP answers or page selectors.
//
// Paths come from the environment (CTest passes them; the defaults fit a checkout built in build/):
//   VOXGATE_SOURCE_DIR   repository root                (default: two levels above this file)
//   VOXGATE_BIN          the voxgate binary              (default: $VOXGATE_SOURCE_DIR/build/voxgate)
//   VOXGATE_RTP_PLAYER   the test RTP sender             (default: <dir of VOXGATE_BIN>/tests/voxgate_rtp_player)
//   VOXGATE_SPEECH_DIR   the real-speech root            (default: $VOXGATE_SOURCE_DIR/../shared/speech)
//   VOXGATE_CONSOLE_ARTIFACTS  screenshots              (default: <dir of VOXGATE_BIN>/test-artifacts/console)
//   VOXGATE_CONSOLE_DIR  optional: serve web/ from disk (`serve --console-dir`) instead of the embedded copy
//   CHROMIUM             the browser                     (default: /usr/bin/chromium, Debian's package)
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const paths = (() => {
  const source = path.resolve(process.env.VOXGATE_SOURCE_DIR || path.join(here, '..', '..'));
  const bin = path.resolve(process.env.VOXGATE_BIN || path.join(source, 'build', 'voxgate'));
  const buildDir = path.dirname(bin);
  return {
    source,
    bin,
    buildDir,
    rtpPlayer: path.resolve(
      process.env.VOXGATE_RTP_PLAYER || path.join(buildDir, 'tests', 'voxgate_rtp_player')),
    speech: path.resolve(process.env.VOXGATE_SPEECH_DIR || path.join(source, '..', 'shared', 'speech')),
    artifacts: path.resolve(
      process.env.VOXGATE_CONSOLE_ARTIFACTS || path.join(buildDir, 'test-artifacts', 'console')),
    consoleDir: process.env.VOXGATE_CONSOLE_DIR || '',
    chromium: process.env.CHROMIUM || '/usr/bin/chromium',
    model: path.join(source, 'models', 'voxgate-starter.onnx'),
    config: path.join(source, 'config', 'voxgate.yaml'),
    sippScenario: path.join(source, 'tests', 'telephony', 'sipp', 'uac_speech.xml'),
    sipp: '/usr/bin/sipp',
    nginx: 'nginx',
    rtmpModule: '/usr/lib/nginx/modules/ngx_rtmp_module.so',
  };
})();

// ---- processes -------------------------------------------------------------------------------

const children = new Set();  // every ChildProcess we started and that has not exited

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const tempDirs = new Set();  // removed at exit if the tests could not remove them themselves

/// Kills what is still running (the last resort: after() hooks stop things gracefully).
export function killAll() {
  for (const c of children) {
    try {
      // Our own children only, each by its id (process groups: sipp and its RTP player, see startSippCall).
      if (c.voxgateGroup) process.kill(-c.pid, 'SIGKILL');
      else c.kill('SIGKILL');
    } catch { /* already gone */ }
  }
}
process.once('exit', () => {
  killAll();
  for (const d of tempDirs) {
    try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAll();
    process.exit(128 + (os.constants.signals[sig] || 0));
  });
}

function exitOf(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })));
}

/// Waits for `child` to exit; SIGKILL (the group when it leads one) after timeoutMs.
async function waitExit(child, timeoutMs) {
  let timer;
  const killed = new Promise((resolve) => {
    timer = setTimeout(() => {
      try {
        if (child.voxgateGroup) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch { /* gone */ }
      resolve(null);
    }, timeoutMs);
  });
  const first = await Promise.race([exitOf(child), killed]);
  clearTimeout(timer);
  return first ?? { ...(await exitOf(child)), killed: true };
}

/// Resolves once `predicate(text)` holds for what the process printed so far (stdout + stderr);
/// rejects when the process exits first or after timeoutMs.
function waitForOutput(proc, predicate, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = predicate(proc.output());
      if (m) {
        done();
        resolve(m);
      }
    };
    const onExit = () => {
      done();
      reject(new Error(`${what}: the process exited first\n${proc.output().slice(-4000)}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: not seen within ${timeoutMs} ms\n${proc.output().slice(-4000)}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      proc.events.off('data', check);
      proc.child.off('exit', onExit);
    };
    proc.events.on('data', check);
    proc.child.once('exit', onExit);
    check();
  });
}

/// A child process whose stdout and stderr are kept in memory (never blocking it).
function start(cmd, args, options = {}) {
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options }));
  if (options.detached) child.voxgateGroup = true;
  const proc = { child, stdout: '', stderr: '', events: new EventEmitter() };
  proc.events.setMaxListeners(100);
  child.stdout.on('data', (d) => { proc.stdout += d; proc.events.emit('data'); });
  child.stderr.on('data', (d) => { proc.stderr += d; proc.events.emit('data'); });
  child.on('error', (e) => { proc.stderr += `\n[spawn error] ${e.message}\n`; proc.events.emit('data'); });
  proc.output = () => proc.stdout + proc.stderr;
  return proc;
}

// ---- temporary files ---------------------------------------------------------------------------

export function tempDir(prefix = 'voxgate-console-') {
  const d = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

export function removeDir(dir) {
  if (!dir) return;
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

// ---- peers -------------------------------------------------------------------------------------

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/// Everything the tests need, or an Error naming what is missing and how to get it. A missing
/// peer is a failure, not a skip: CI must not pass without running the browser tests.
export function checkPeers() {
  const missing = [];
  const need = (ok, what) => { if (!ok) missing.push(what); };
  need(fs.existsSync(paths.bin), `the voxgate binary (${paths.bin}; scripts/build.sh)`);
  need(fs.existsSync(paths.rtpPlayer), `voxgate_rtp_player (${paths.rtpPlayer}; scripts/build.sh)`);
  need(fs.existsSync(paths.chromium), `Chromium (${paths.chromium}; Debian package chromium)`);
  need(fs.existsSync(paths.sipp), 'sipp (Debian package sip-tester)');
  need(onPath(paths.nginx) && fs.existsSync(paths.rtmpModule),
    'nginx with the RTMP module (Debian packages nginx libnginx-mod-rtmp)');
  need(onPath('ffmpeg'), 'ffmpeg (Debian package ffmpeg)');
  need(fs.existsSync(paths.model), `the starter model (${paths.model})`);
  need(fs.existsSync(path.join(paths.speech, 'resemblyzer-librispeech', 'librispeech_test-other')),
    `the real speech (${paths.speech}; VOXGATE_SPEECH_DIR)`);
  need(fs.existsSync(path.join(here, 'node_modules', 'playwright-core', 'package.json')),
    'playwright-core in tests/web/node_modules (scripts/setup.sh --tests runs npm ci there)');
  if (missing.length) {
    throw new Error(`console tests: missing peer(s) -- run scripts/setup.sh --tests:\n  ${missing.join('\n  ')}`);
  }
}

// ---- speech ------------------------------------------------------------------------------------

/// LibriSpeech test-other utterance n of `speaker` ("1688-142285").
export function utterance(speakerChapter, n) {
  const speaker = speakerChapter.split('-')[0];
  return path.join(paths.speech, 'resemblyzer-librispeech', 'librispeech_test-other', speaker,
    `${speakerChapter}-${String(n).padStart(4, '0')}.flac`);
}

/// Concatenates utterances of one speaker into a mono WAV at `rateHz` (ffmpeg): 16-bit PCM, or
/// G.711 mu-law with codec 'pcm_mulaw' (telephone audio).
export function speechWav(out, speakerChapter, utts, rateHz = 48000, codec = 'pcm_s16le') {
  const inputs = utts.map((n) => utterance(speakerChapter, n));
  for (const f of inputs) if (!fs.existsSync(f)) throw new Error(`no such utterance: ${f}`);
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'];
  for (const f of inputs) args.push('-i', f);
  const streams = inputs.map((_, i) => `[${i}:a]`).join('');
  args.push('-filter_complex', `${streams}concat=n=${inputs.length}:v=0:a=1[a]`, '-map', '[a]',
    '-ac', '1', '-ar', String(rateHz), '-c:a', codec, out);
  const r = spawnSync('ffmpeg', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg failed for ${out}: ${r.stderr}`);
  return out;
}

export function wavSeconds(file) {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0',
    file], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

// ---- voxgate -----------------------------------------------------------------------------------

/// `voxgate keys --data-dir DIR create --name NAME --role ROLE` -> the key ("vx_...").
export function createKey(dataDir, name, role) {
  const r = spawnSync(paths.bin, ['keys', '--data-dir', dataDir, 'create', '--name', name, '--role', role],
    { encoding: 'utf8', env: cleanEnv() });
  if (r.status !== 0) throw new Error(`voxgate keys create failed (${r.status}): ${r.stdout}${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop());
  if (!/^vx_/.test(j.key) || j.role !== role) throw new Error(`unexpected key answer: ${r.stdout}`);
  return j.key;
}

/// The environment without any inherited VOXGATE_* variable (as tests/app/server_process.h does).
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('VOXGATE_')) env[k] = v;
  return { ...env, ...extra };
}

/// `voxgate serve` with authentication on, as an operator runs it: the repository's
/// config/voxgate.yaml, a fresh data directory, any free port, SIP on any free port.
export class Server {
  constructor({ dataDir, env = {}, args = [] }) {
    this.dataDir = dataDir;
    this.env = env;
    this.args = args;
    this.port = 0;
    this.sipPort = 0;
    this.proc = null;
  }

  async start(timeoutMs = 120000) {
    fs.mkdirSync(this.dataDir, { recursive: true });
    const args = ['serve', '--config', paths.config, '--port', '0', '--data-dir', this.dataDir];
    if (paths.consoleDir) args.push('--console-dir', path.resolve(paths.consoleDir));
    args.push(...this.args);
    this.proc = start(paths.bin, args, {
      cwd: path.dirname(this.dataDir),
      env: cleanEnv({
        VOXGATE_MODEL_PATH: paths.model,
        VOXGATE_SERVER_HOST: '127.0.0.1',
        // The console polls several routes a second; the tests are not about rate limits.
        VOXGATE_SERVER_RATE_LIMIT_ENABLED: 'false',
        ...this.env,
      }),
    });
    const m = await waitForOutput(this.proc, (t) => t.match(/voxgate: listening on [^\s:]+:(\d+)\n/),
      timeoutMs, 'voxgate serve "listening"');
    this.port = Number(m[1]);
    const sip = this.proc.stdout.match(/voxgate: SIP on [0-9.]+:(\d+)/);
    if (sip) this.sipPort = Number(sip[1]);
    return this;
  }

  get base() { return `http://127.0.0.1:${this.port}`; }

  output(max = 6000) {
    const t = this.proc ? `--- voxgate stdout ---\n${this.proc.stdout}\n--- voxgate stderr ---\n${this.proc.stderr}` : '';
    return t.length > max ? `...${t.slice(-max)}` : t;
  }

  /// SIGTERM and the exit status (SIGKILL after timeoutMs; the server bounds its own shutdown at 20 s).
  async stop(timeoutMs = 40000) {
    if (!this.proc) return null;
    const child = this.proc.child;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return waitExit(child, timeoutMs);
  }

  /// fetch() against the server with `key` as a Bearer token (none when key is falsy).
  async request(method, route, { key, json, headers = {} } = {}) {
    const h = { ...headers };
    if (key) h.Authorization = `Bearer ${key}`;
    let body;
    if (json !== undefined) {
      h['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    }
    const res = await fetch(this.base + route, { method, headers: h, body });
    const text = await res.text();
    let data = null;
    try { data = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, headers: res.headers, text, json: data };
  }

  /// Enrolls `userId` over REST (JSON + base64) from audio files.
  async register(key, userId, name, files) {
    const audio = files.map((f) => fs.readFileSync(f).toString('base64'));
    return this.request('POST', '/api/v1/voiceprint/register',
      { key, json: { user_id: userId, name, audio } });
  }
}

/// Polls `fn` (async, returns a truthy value when done) every intervalMs until timeoutMs.
export async function poll(fn, { timeoutMs = 30000, intervalMs = 250, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached within ${timeoutMs} ms (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ---- nginx-rtmp --------------------------------------------------------------------------------

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/// nginx in the foreground with Debian's RTMP module on a loopback port, recording what is
/// published (as tests/stream/nginx_rtmp.h does).
export class NginxRtmp {
  static KEY = 'SECRETKEY-console-e2e';

  constructor(dir) {
    this.dir = dir;
    this.port = 0;
    this.proc = null;
  }

  async start(timeoutMs = 20000) {
    fs.mkdirSync(path.join(this.dir, 'rec'), { recursive: true });
    fs.mkdirSync(path.join(this.dir, 'logs'), { recursive: true });
    this.port = await freePort();
    const conf = path.join(this.dir, 'nginx.conf');
    fs.writeFileSync(conf, [
      `load_module ${paths.rtmpModule};`,
      'daemon off;', 'master_process off;', 'worker_processes 1;',
      `pid ${path.join(this.dir, 'nginx.pid')};`,
      `error_log ${path.join(this.dir, 'error.log')} info;`,
      'events { worker_connections 64; }',
      `rtmp { server { listen 127.0.0.1:${this.port}; chunk_size 4096;`,
      `  application live { live on; record all; record_unique off; record_path ${path.join(this.dir, 'rec')}; } } }`,
      '',
    ].join('\n'));
    this.proc = start(paths.nginx, ['-p', `${this.dir}/`, '-c', conf, '-e', path.join(this.dir, 'error.log')]);
    await poll(async () => {
      if (this.proc.child.exitCode !== null) {
        throw new Error(`nginx exited: ${this.proc.output()} ${this.errorLog()}`);
      }
      return portOpen(this.port);
    }, { timeoutMs, intervalMs: 50, what: 'nginx-rtmp listening' });
    return this;
  }

  get appUrl() { return `rtmp://127.0.0.1:${this.port}/live`; }
  get recording() { return path.join(this.dir, 'rec', `${NginxRtmp.KEY}.flv`); }
  errorLog() {
    try { return fs.readFileSync(path.join(this.dir, 'error.log'), 'utf8'); } catch { return ''; }
  }

  /// SIGQUIT (graceful: the recording is closed), SIGKILL after timeoutMs.
  async stop(timeoutMs = 10000) {
    if (!this.proc) return;
    const child = this.proc.child;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
    await waitExit(child, timeoutMs);
  }
}

// ---- SIPp --------------------------------------------------------------------------------------

/// One call with real speech: tests/telephony/sipp/uac_speech.xml towards `server`'s SIP port,
/// request user `user` (identify, verify-<id>), carrying `wav` as PCMU through voxgate_rtp_player
/// (`extra`: more of its options, e.g. "--dtmf 42@1.0") -- as tests/app/sip_call_itest.cc places
/// its calls. Returns a handle; `await call.done` gives
/// {code, messages, errors, screen, player}.
export function startSippCall({ sipPort, user, wav, dir, extra = '', timeoutS = 120 }) {
  fs.mkdirSync(dir, { recursive: true });
  const messages = path.join(dir, 'messages.log');
  const errors = path.join(dir, 'errors.log');
  const out = path.join(dir, 'player');
  const player = `${paths.rtpPlayer} --codec pcmu --file ${wav}${extra ? ` ${extra}` : ''}`;
  const args = [
    `127.0.0.1:${sipPort}`, '-sf', paths.sippScenario, '-s', user, '-i', '127.0.0.1', '-mi', '127.0.0.1',
    '-m', '1', '-key', 'pt', '0', '-key', 'rtpmap', 'PCMU/8000', '-key', 'te_rate', '8000',
    '-key', 'player', player, '-key', 'outfile', out,
    '-nostdin', '-timeout', `${timeoutS}s`, '-timeout_error',
    '-trace_msg', '-message_file', messages, '-trace_err', '-error_file', errors,
  ];
  // Its own process group: sipp's <exec> starts the RTP player through a shell, and a timeout
  // must end the player too.
  const proc = start(paths.sipp, args, { cwd: dir, detached: true });
  const read = (f) => { try { return fs.readFileSync(f, 'utf8'); } catch { return ''; } };
  let finished = false;
  const done = waitExit(proc.child, (timeoutS + 30) * 1000).then((r) => {
    // The player may outlive sipp by a moment (Voxgate hangs up verify calls early).
    try { process.kill(-proc.child.pid, 'SIGKILL'); } catch { /* group gone */ }
    finished = true;
    let summary = null;
    try { summary = JSON.parse(read(`${out}-1.json`).trim().split('\n')[0]); } catch { /* none */ }
    return {
      code: r.code, signal: r.signal, killed: !!r.killed,
      messages: read(messages), errors: read(errors), screen: proc.output(),
      player: summary, playerErr: read(`${out}-1.err`),
    };
  });
  return {
    proc,
    done,
    describe: async () => {
      const r = await done;
      return `sipp exit ${r.code}${r.killed ? ' (killed)' : ''}\n--- errors:\n${r.errors}\n--- messages:\n${r.messages.slice(0, 8000)}\n--- screen:\n${r.screen.slice(-2000)}\n--- player:\n${JSON.stringify(r.player)} ${r.playerErr}`;
    },
    kill: () => {
      if (finished) return;  // the group was ended with sipp; its id may be anyone's by now
      try { process.kill(-proc.child.pid, 'SIGKILL'); } catch { /* gone */ }
    },
  };
}

// ---- the browser -------------------------------------------------------------------------------

let playwright;
async function loadPlaywright() {
  if (!playwright) {
    try {
      playwright = await import('playwright-core');
    } catch (e) {
      throw new Error(`playwright-core is not installed in tests/web (scripts/setup.sh --tests runs npm ci): ${e.message}`);
    }
  }
  return playwright;
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 800 };

/// A fresh headless Chromium (Debian's, never a downloaded one) with its own temporary profile,
/// whose fake microphone plays `wav` (looped). One browser per speaker: the fake audio file is a
/// launch flag. Returns {context, close()}.
export async function launchBrowser({ wav, viewport = DESKTOP } = {}) {
  const { chromium } = await loadPlaywright();
  const profile = tempDir('voxgate-chromium-');
  const args = [
    '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  ];
  if (wav) args.push(`--use-file-for-fake-audio-capture=${wav}`);
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: paths.chromium,
      headless: true,
      args,
      viewport,
      timeout: 120000,
      permissions: ['microphone'],
    });
  } catch (e) {
    removeDir(profile);
    throw e;
  }
  return {
    context,
    async close() {
      try { await context.close(); } finally { removeDir(profile); }
    },
  };
}

/// Watches a page for what must never happen: a JavaScript error, a console error, a failed
/// request, an HTTP error answer the test did not provoke, a CSP violation. `allow(pred, why)`
/// declares an answer the test provokes (pred({url, status, method}) -> bool); `assertClean()`
/// throws listing everything else. A request URL containing one of `secrets` (API keys) is a
/// problem too: keys travel in headers and the WebSocket subprotocol only.
export async function watch(page, { secrets = [] } = {}) {
  const issues = [];
  const leaks = (url) => secrets.some((k) => k && url.includes(k));
  const allowed = [];  // {pred, why, hits}
  const seenAllowed = [];
  const isAllowed = (r) => {
    for (const a of allowed) {
      if (a.pred(r)) { a.hits++; seenAllowed.push(`${r.status} ${r.method} ${r.url} (${a.why})`); return true; }
    }
    return false;
  };
  const badStatuses = [];  // responses >= 400 that were not allowed: their console echo is the same fault

  await page.exposeBinding('__voxgateCspViolation', (_source, v) => {
    issues.push(`CSP violation: ${v.directive} blocked ${v.blocked} (${v.source}:${v.line}) sample=${v.sample}`);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__voxgateCspViolation({
        directive: e.effectiveDirective || e.violatedDirective, blocked: e.blockedURI,
        source: e.sourceFile, line: e.lineNumber, sample: e.sample,
      });
    });
  });
  page.on('pageerror', (e) => issues.push(`JavaScript error: ${e.message}\n${e.stack || ''}`));
  page.on('console', (m) => {
    const text = m.text();
    if (/Content.Security.Policy/i.test(text)) {
      issues.push(`CSP console message (${m.type()}): ${text}`);
      return;
    }
    if (m.type() !== 'error') return;
    // Chromium echoes every HTTP error answer as "Failed to load resource: the server responded
    // with a status of N"; those are judged by the response listener (which knows the URL and
    // what the test provoked).
    const echo = text.match(/^Failed to load resource: the server responded with a status of (\d+)/);
    if (echo) return;
    issues.push(`console error: ${text} (${m.location()?.url || ''}:${m.location()?.lineNumber ?? ''})`);
  });
  page.on('request', (req) => {
    if (leaks(req.url())) issues.push(`an API key in a request URL: ${req.method()} ${req.url().slice(0, 60)}...`);
  });
  page.on('requestfailed', (req) => {
    const failure = req.failure()?.errorText || '';
    // A navigation away or a page's own AbortController cancels requests; that is not a failure
    // of the server or the page.
    if (/ERR_ABORTED/.test(failure)) return;
    issues.push(`request failed: ${req.method()} ${req.url()} -- ${failure}`);
  });
  page.on('response', (res) => {
    if (res.status() < 400) return;
    const r = { url: res.url(), status: res.status(), method: res.request().method() };
    if (isAllowed(r)) return;
    badStatuses.push(r);
    issues.push(`HTTP ${r.status} for ${r.method} ${r.url}`);
  });
  page.on('websocket', (ws) => {
    if (leaks(ws.url())) issues.push('an API key in a WebSocket URL');
    ws.on('socketerror', (e) => issues.push(`WebSocket error on ${ws.url()}: ${e}`));
  });
  page.on('dialog', async (d) => {
    // Only the console's own confirm flows use <dialog>; a window.alert/confirm/prompt is a fault
    // (and the XSS probe's alert(1) would land here).
    issues.push(`unexpected ${d.type()} dialog: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });

  return {
    issues,
    allow(pred, why) { allowed.push({ pred, why, hits: 0 }); },
    allowedSeen: seenAllowed,
    assertClean(label = '') {
      if (issues.length) {
        throw new Error(`${label ? `${label}: ` : ''}${issues.length} problem(s) in the page:\n  ${issues.join('\n  ')}`);
      }
    },
  };
}

export const sleepUntil = poll;
