// The API client. The key lives only in this module's variable: never in storage, a URL or a log.

let apiKey = null;
let authEnabled = true;
let unauthorizedHandler = null;

export function setKey(key) { apiKey = key || null; }
export function clearKey() { apiKey = null; }
export function hasKey() { return apiKey !== null; }
export function setAuthEnabled(on) { authEnabled = !!on; }
export function isAuthEnabled() { return authEnabled; }

/** Called with the ApiError when a request answers 401 (the key was revoked or is wrong). */
export function onUnauthorized(fn) { unauthorizedHandler = fn; }

export class ApiError extends Error {
  constructor(status, message, code, requestId, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code || '';
    this.requestId = requestId || '';
    this.body = body || null;
  }
}

/** A message for people: the server's `error`, the status and the request id to quote. */
export function errorText(err) {
  if (!(err instanceof ApiError)) return err && err.message ? err.message : String(err);
  if (err.status === 403) {
    return `This needs an admin key (403): ${err.message}` + (err.requestId ? ` (request ${err.requestId})` : '');
  }
  const parts = [err.message];
  const tail = [];
  if (err.status) tail.push(`HTTP ${err.status}`);
  if (err.requestId) tail.push(`request ${err.requestId}`);
  if (tail.length) parts.push(`(${tail.join(', ')})`);
  return parts.join(' ');
}

function headers(extra) {
  const h = new Headers(extra || {});
  if (apiKey) h.set('Authorization', 'Bearer ' + apiKey);
  return h;
}

function buildUrl(path, query) {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === null || v === undefined || v === '') continue;
    qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

async function toError(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  const requestId = (body && body.request_id) || res.headers.get('X-Request-Id') || '';
  const message = (body && (body.error || body.message)) || res.statusText || 'request failed';
  return new ApiError(res.status, message, body && body.error_code, requestId, body);
}

/**
 * request('GET', '/api/v1/stats', {query, json, form, signal, quiet401, raw})
 * Resolves to the parsed JSON (or the Response with raw:true); rejects with ApiError.
 */
export async function request(method, path, opts = {}) {
  const init = { method, headers: headers(), signal: opts.signal, cache: 'no-store' };
  if (opts.json !== undefined) {
    init.headers.set('Content-Type', 'application/json');
    init.body = JSON.stringify(opts.json);
  } else if (opts.form !== undefined) {
    init.body = opts.form; // FormData: the browser sets the multipart boundary
  }
  let res;
  try {
    res = await fetch(buildUrl(path, opts.query), init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, `The server cannot be reached (${e && e.message ? e.message : 'network error'})`);
  }
  if (!res.ok) {
    const err = await toError(res);
    if (res.status === 401 && !opts.quiet401 && unauthorizedHandler) unauthorizedHandler(err);
    throw err;
  }
  if (opts.raw) return res;
  if (res.status === 204) return {};
  const type = res.headers.get('Content-Type') || '';
  if (!type.includes('json')) return {};
  return res.json();
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, opts) => request('POST', path, opts);
export const put = (path, opts) => request('PUT', path, opts);
export const del = (path, opts) => request('DELETE', path, opts);

/** The WebSocket URL and subprotocols for /api/v1/stream (browsers cannot set headers). */
export function streamSocketArgs() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${scheme}//${location.host}/api/v1/stream`;
  const protocols = ['voxgate.v1'];
  if (apiKey) protocols.push('voxgate.key.' + apiKey);
  return { url, protocols };
}

/**
 * Who is signed in. Prefers GET /api/v1/whoami; against a server without it, works it out:
 * /api/v1/stats says whether the key works, /api/v1/voiceprints whether it is an admin's.
 * Resolves {auth_enabled, role, key_name}; rejects with ApiError (401 for a refused key).
 */
export async function whoami() {
  try {
    const w = await get('/api/v1/whoami', { quiet401: true });
    return { auth_enabled: w.auth_enabled !== false, role: w.role === 'client' ? 'client' : 'admin',
      key_name: w.key_name || '' };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  await get('/api/v1/stats', { quiet401: true });
  let role = 'admin';
  try {
    await get('/api/v1/voiceprints', { query: { limit: 1 }, quiet401: true });
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) role = 'client';
    else throw e;
  }
  return { auth_enabled: apiKey !== null, role, key_name: '' };
}

/** Is authentication off on this server (dev mode)? Asks /health, which needs no key. */
export async function probeAuth() {
  try {
    const hl = await get('/health', { quiet401: true });
    const srv = hl && hl.components && hl.components.http_server;
    if (srv && typeof srv.auth === 'boolean') return srv.auth;
  } catch { /* fall through */ }
  return true;
}
