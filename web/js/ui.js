// Shared widgets: notices, the confirm dialog, badges, key/value lists, pollers.
import { h, replace, str } from './dom.js';
import { errorText } from './api.js';

// ---- notices (aria-live) ----------------------------------------------------------------------

/** Shows a dismissable notice in #notices; kind = info | success | error. */
export function notify(message, kind = 'info', { timeoutMs } = {}) {
  const box = document.getElementById('notices');
  if (!box) return;
  const close = h('button', { type: 'button', class: 'notice-close', 'aria-label': 'Dismiss notice' }, '\u00d7');
  const n = h('div', { class: ['notice', 'notice-' + kind], role: kind === 'error' ? 'alert' : null },
    h('span', { class: 'notice-text' }, message), close);
  close.addEventListener('click', () => n.remove());
  box.appendChild(n);
  while (box.children.length > 4) box.firstElementChild.remove();
  const ms = timeoutMs !== undefined ? timeoutMs : kind === 'error' ? 12000 : 5000;
  if (ms > 0) setTimeout(() => n.remove(), ms);
}

export function notifyError(err, prefix) {
  notify((prefix ? prefix + ': ' : '') + errorText(err), 'error');
}

export function clearNotices() {
  const box = document.getElementById('notices');
  if (box) box.replaceChildren();
}

// ---- confirm dialog -----------------------------------------------------------------------------

/** Opens dialog#confirm; resolves true for OK. Focus is trapped by the modal <dialog>. */
export function confirmDialog({ title, text, ok = 'OK', danger = false }) {
  const dlg = document.getElementById('confirm');
  const okBtn = document.getElementById('confirm-ok');
  const cancelBtn = document.getElementById('confirm-cancel');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  okBtn.textContent = ok;
  okBtn.classList.toggle('danger', danger);
  okBtn.classList.toggle('primary', !danger);
  dlg.returnValue = '';
  return new Promise((resolve) => {
    const done = () => {
      dlg.removeEventListener('close', done);
      resolve(dlg.returnValue === 'ok');
    };
    dlg.addEventListener('close', done);
    dlg.showModal();
    cancelBtn.focus();
  });
}

// ---- bits ---------------------------------------------------------------------------------------

const DECISION_KIND = {
  verified: 'good', identified: 'good', enrolled: 'good', samples_added: 'good', accept: 'good',
  active: 'good', healthy: 'good', ready: 'good', live: 'good', ok: 'good', true: 'good',
  rejected: 'bad', reject: 'bad', failed: 'bad', blocked: 'bad', unhealthy: 'bad', degraded: 'warn',
  error: 'bad', false: 'bad', reconnecting: 'warn',
  unknown: 'neutral', inconclusive: 'neutral', ended: 'neutral', stopped: 'neutral',
  inactive: 'neutral', expired: 'neutral',
};

/** A coloured pill: green for good outcomes, red for bad, grey otherwise. */
export function badge(value, label) {
  const v = String(value);
  const kind = DECISION_KIND[v.toLowerCase()] || 'neutral';
  return h('span', { class: ['badge', 'badge-' + kind] }, label !== undefined ? label : v);
}

/** A <dl> of [label, value] pairs; values may be nodes. */
export function kvList(pairs, cls) {
  const dl = h('dl', { class: ['kv', cls] });
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    dl.append(h('dt', null, k), h('dd', null, v instanceof Node ? v : str(v)));
  }
  return dl;
}

/** A card: a titled section. */
export function card(title, body, attrs = {}) {
  const headingId = attrs.id ? attrs.id + '-title' : null;
  return h('section', { ...attrs, class: ['card', attrs.class], 'aria-labelledby': headingId },
    h('h2', { class: 'card-title', id: headingId }, title), body);
}

/** The root element of a page: data-page for the tests, data-ready once loaded. */
export function pageRoot(name, title, ...intro) {
  const root = h('div', { class: 'page', dataset: { page: name } });
  root.append(h('div', { class: 'page-head' }, h('h1', { id: 'page-title', tabindex: '-1' }, title), ...intro));
  return root;
}

export function markReady(root) {
  root.dataset.ready = 'true';
}

/** A table with a caption (for screen readers) and headers. */
export function table(id, caption, headers) {
  const tbody = h('tbody');
  const t = h('table', { id, class: 'data' },
    h('caption', { class: 'sr-only' }, caption),
    h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
    tbody);
  return { table: h('div', { class: 'table-wrap' }, t), el: t, tbody };
}

export function emptyRow(tbody, cols, text) {
  replace(tbody, h('tr', { class: 'empty' }, h('td', { colspan: cols }, text)));
}

/**
 * Runs fn now and then every `ms` after each run finishes, until stop(). Runs skip while the
 * tab is hidden. Errors go to onError (default: a notice, at most once per distinct message).
 */
export function poller(fn, ms, onError) {
  let timer = null;
  let stopped = false;
  let lastError = '';
  const run = async () => {
    timer = null;
    if (stopped) return;
    if (!document.hidden) {
      try {
        await fn();
        lastError = '';
      } catch (e) {
        if (stopped || (e && e.name === 'AbortError')) return;
        const text = errorText(e);
        if (onError) onError(e);
        else if (text !== lastError && !(e && e.status === 401)) notify(text, 'error');
        lastError = text;
      }
    }
    if (!stopped) timer = setTimeout(run, ms);
  };
  run();
  return {
    stop() { stopped = true; if (timer) clearTimeout(timer); },
    now() { if (timer) { clearTimeout(timer); run(); } },
  };
}

// ---- speakers -----------------------------------------------------------------------------------

const PALETTE = ['#2563eb', '#d97706', '#059669', '#7c3aed', '#db2777', '#0891b2', '#65a30d', '#b45309',
  '#4f46e5', '#be123c'];

/** A stable colour per user id; unknown voices are grey. */
export function speakerColour(userId) {
  if (!userId) return '#9ca3af';
  let x = 0;
  for (let i = 0; i < userId.length; i += 1) x = (x * 31 + userId.charCodeAt(i)) >>> 0;
  return PALETTE[x % PALETTE.length];
}

/** Label + control pair for forms. */
export function field(label, control, hint) {
  const id = control.id;
  const hintId = hint ? id + '-hint' : null;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null);
}

export function select(id, options, value) {
  const s = h('select', { id, name: id });
  for (const o of options) {
    const [v, l] = Array.isArray(o) ? o : [o, o];
    const opt = h('option', { value: v }, l);
    if (v === value) opt.selected = true;
    s.append(opt);
  }
  return s;
}
