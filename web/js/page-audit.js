// Audit log (admin): filter by user, action and time; page backwards with before_id.
import * as api from './api.js';
import { h, num, time, str, dash } from './dom.js';
import { card, emptyRow, field, markReady, notifyError, pageRoot, select, table } from './ui.js';

const ACTIONS = ['register', 'add_samples', 'verify', 'identify', 'delete', 'status', 'update'];
const PAGE = 50;

/** <input type="datetime-local"> value (local time) -> ISO-8601 UTC. */
function toIso(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function detailText(d) {
  if (d === undefined || d === null || d === '') return dash;
  if (typeof d !== 'object') return String(d);
  if (!Object.keys(d).length) return dash;
  return Object.entries(d).map(([k, v]) => `${k.replace(/_/g, ' ')}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join(' \u00b7 ');
}

export function mount(view, ctx) {
  const root = pageRoot('audit', 'Audit log',
    h('p', { class: 'subtle' }, 'Every enrollment, verification, identification, status change and deletion, newest first.'));
  const user = h('input', { id: 'audit-user', autocomplete: 'off', spellcheck: 'false',
    value: ctx.query.get('user_id') || '' });
  const action = select('audit-action', [['', 'any action'], ...ACTIONS], '');
  const since = h('input', { id: 'audit-since', type: 'datetime-local', step: 1 });
  const until = h('input', { id: 'audit-until', type: 'datetime-local', step: 1 });
  const apply = h('button', { type: 'submit', id: 'audit-apply', class: 'primary' }, 'Apply');
  const reset = h('button', { type: 'button', id: 'audit-reset', class: 'ghost' }, 'Clear');
  const form = h('form', { class: 'toolbar', id: 'audit-filters', role: 'search', 'aria-label': 'Filter the audit log' },
    field('User id', user), field('Action', action), field('Since', since), field('Until', until),
    h('div', { class: 'toolbar-buttons' }, apply, reset));
  const { table: tbl, tbody } = table('audit-table', 'Audit events',
    ['#', 'Time', 'Action', 'User id', 'Actor', 'Request', 'Detail']);
  const newer = h('button', { type: 'button', id: 'audit-newest', class: 'ghost' }, '\u2190 Newest');
  const older = h('button', { type: 'button', id: 'audit-older', class: 'ghost' }, 'Older \u2192');
  const summary = h('p', { class: 'subtle', id: 'audit-summary', 'aria-live': 'polite' });
  root.append(card('Filters', form), card('Events', h('div', null, tbl,
    h('div', { class: 'pager' }, newer, summary, older))));
  view.append(root);

  let beforeId = null;
  let page = 0;
  let seq = 0;

  async function load() {
    const my = ++seq;
    const query = { user_id: user.value.trim(), action: action.value, since: toIso(since.value),
      until: toIso(until.value), limit: PAGE, before_id: beforeId ?? '' };
    let r;
    try {
      r = await api.get('/api/v1/audit', { query });
    } catch (e) {
      if (my !== seq) return;
      emptyRow(tbody, 7, api.errorText(e));
      notifyError(e, 'Could not read the audit log');
      markReady(root);
      return;
    }
    if (my !== seq) return;
    let events = r.events || [];
    // A server without since/until filters here (this page only).
    const s = toIso(since.value);
    const u = toIso(until.value);
    const ts = (e) => Date.parse(e.time || e.ts || '');
    if (s) events = events.filter((e) => !(ts(e) < Date.parse(s)));
    if (u) events = events.filter((e) => !(ts(e) > Date.parse(u)));
    const rows = events.map((e) => h('tr', { dataset: { eventId: e.id } },
      h('td', { class: 'num' }, str(e.id)),
      h('td', { class: 'nowrap' }, time(e.time || e.ts)),
      h('td', null, h('span', { class: 'tag' }, str(e.action))),
      h('td', null, e.user_id ? h('code', null, e.user_id) : dash),
      h('td', null, e.actor ? h('code', null, e.actor) : h('span', { class: 'subtle' }, 'dev / none')),
      h('td', null, e.request_id ? h('code', null, e.request_id) : dash),
      h('td', { class: 'detail' }, detailText(e.detail))));
    if (rows.length) tbody.replaceChildren(...rows);
    else emptyRow(tbody, 7, 'No event matches.');
    const ids = (r.events || []).map((e) => Number(e.id)).filter(Number.isFinite);
    const oldest = ids.length ? Math.min(...ids) : null;
    older.disabled = (r.events || []).length < PAGE || oldest === null || oldest <= 1;
    older.dataset.beforeId = oldest === null ? '' : String(oldest);
    newer.disabled = page === 0;
    summary.textContent = `${num(rows.length)} event(s) on this page` +
      (r.total !== undefined ? ` \u00b7 ${num(r.total)} in all` : '') + (page ? ` \u00b7 page ${page + 1}` : '');
    markReady(root);
  }

  form.addEventListener('submit', (e) => { e.preventDefault(); beforeId = null; page = 0; load(); });
  reset.addEventListener('click', () => {
    user.value = ''; action.value = ''; since.value = ''; until.value = '';
    beforeId = null; page = 0; load();
  });
  older.addEventListener('click', () => {
    if (!older.dataset.beforeId) return;
    beforeId = Number(older.dataset.beforeId);
    page += 1;
    load();
  });
  newer.addEventListener('click', () => { beforeId = null; page = 0; load(); });
  load();
  return () => { seq += 1; };
}
