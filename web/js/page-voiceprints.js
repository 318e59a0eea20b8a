// Voiceprints: a searchable, paged list (admin) and one voiceprint's detail page.
import * as api from './api.js';
import { h, replace, num, secs, time, dash } from './dom.js';
import { badge, card, confirmDialog, emptyRow, field, kvList, markReady, notify, notifyError, pageRoot,
  select, table } from './ui.js';

const STATUSES = ['active', 'inactive', 'expired', 'blocked'];
const PAGE_SIZES = [25, 50, 100];

export function mount(view, ctx) {
  return ctx.params.length ? mountDetail(view, ctx, ctx.params[0]) : mountList(view, ctx);
}

function mountList(view, ctx) {
  const q0 = ctx.query.get('q') || '';
  const root = pageRoot('voiceprints', 'Voiceprints',
    h('a', { class: 'button primary', href: '#/enroll' }, 'Enroll a voice'));
  const search = h('input', { id: 'vp-search', type: 'search', placeholder: 'user id or name',
    autocomplete: 'off', value: q0 });
  const status = select('vp-filter-status', [['', 'any status'], ...STATUSES], ctx.query.get('status') || '');
  const size = select('vp-page-size', PAGE_SIZES.map((n) => [String(n), String(n)]), '50');
  const { table: tbl, tbody } = table('vp-table', 'Enrolled voiceprints',
    ['User id', 'Name', 'Status', 'Samples', 'Model', 'Created', 'Updated']);
  const summary = h('p', { class: 'subtle', id: 'vp-summary', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', id: 'vp-prev', class: 'ghost' }, '\u2190 Previous');
  const next = h('button', { type: 'button', id: 'vp-next', class: 'ghost' }, 'Next \u2192');
  const filters = h('form', { class: 'toolbar', role: 'search', 'aria-label': 'Filter voiceprints' },
    field('Search', search), field('Status', status), field('Per page', size));
  filters.addEventListener('submit', (e) => { e.preventDefault(); offset = 0; load(); });
  root.append(card('Enrolled voices', h('div', null, filters, tbl,
    h('div', { class: 'pager' }, prev, summary, next))));
  view.append(root);

  let offset = 0;
  let seq = 0;
  let model = '';
  api.get('/api/v1/stats').then((s) => {
    model = (s.statistics && s.statistics.voiceprint_engine && s.statistics.voiceprint_engine.model) || '';
  }).catch(() => {});

  async function load() {
    const my = ++seq;
    const limit = Number(size.value);
    const q = search.value.trim();
    let res;
    try {
      res = await api.get('/api/v1/voiceprints', { query: { q, status: status.value, limit, offset } });
    } catch (e) {
      if (my !== seq) return;
      emptyRow(tbody, 7, api.errorText(e));
      notifyError(e, 'Could not list voiceprints');
      markReady(root);
      return;
    }
    if (my !== seq) return;
    let rows = res.voiceprints || [];
    // A server without `q` returns everything: filter this page here and say so.
    const lower = q.toLowerCase();
    const unfiltered = q && rows.some((v) => !String(v.user_id).toLowerCase().includes(lower) &&
      !String(v.name || '').toLowerCase().includes(lower));
    if (unfiltered) {
      rows = rows.filter((v) => String(v.user_id).toLowerCase().includes(lower) ||
        String(v.name || '').toLowerCase().includes(lower));
    }
    tbody.replaceChildren();
    if (!rows.length) emptyRow(tbody, 7, q || status.value ? 'No voiceprint matches.' : 'No one is enrolled yet.');
    for (const v of rows) {
      const href = '#/voiceprints/' + encodeURIComponent(v.user_id);
      tbody.append(h('tr', { dataset: { userId: v.user_id } },
        h('td', null, h('a', { href }, v.user_id)),
        h('td', null, v.name || dash),
        h('td', null, badge(v.status || 'unknown')),
        h('td', { class: 'num' }, num(v.num_samples)),
        h('td', null, v.model_id && model && v.model_id !== model
          ? h('span', { class: 'warn-text', title: 'enrolled with another model: cannot be scored' }, 'other model')
          : h('span', { class: 'subtle' }, v.model_id ? 'current' : dash)),
        h('td', null, time(v.created_at)),
        h('td', null, time(v.updated_at))));
    }
    const total = Number(res.total ?? rows.length);
    const from = total === 0 ? 0 : offset + 1;
    const to = Math.min(total, offset + (res.voiceprints || []).length);
    summary.textContent = unfiltered
      ? `${rows.length} match(es) on this page (the server does not search: filtered here)`
      : total === 0 ? 'No voiceprints.' : `${num(from)}\u2013${num(to)} of ${num(total)}`;
    prev.disabled = offset === 0;
    next.disabled = offset + limit >= total;
    markReady(root);
  }

  let debounce = null;
  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => { offset = 0; load(); }, 250);
  });
  status.addEventListener('change', () => { offset = 0; load(); });
  size.addEventListener('change', () => { offset = 0; load(); });
  prev.addEventListener('click', () => { offset = Math.max(0, offset - Number(size.value)); load(); });
  next.addEventListener('click', () => { offset += Number(size.value); load(); });
  load();
  return () => { seq += 1; clearTimeout(debounce); };
}

function mountDetail(view, ctx, userId) {
  const root = pageRoot('voiceprint', 'Voiceprint',
    ctx.isAdmin ? h('a', { href: '#/voiceprints', class: 'back' }, '\u2190 All voiceprints') : null);
  const detail = h('div', { id: 'vp-detail' }, 'Loading\u2026');
  root.append(detail);
  view.append(root);
  let alive = true;

  async function load() {
    let v;
    try {
      v = await api.get('/api/v1/voiceprint/' + encodeURIComponent(userId));
    } catch (e) {
      if (!alive) return;
      replace(detail, h('p', { class: 'form-error', role: 'alert' },
        e instanceof api.ApiError && e.status === 404 ? `No voiceprint with the id \u201c${userId}\u201d.` : api.errorText(e)));
      markReady(root);
      return;
    }
    if (!alive) return;
    render(v);
    markReady(root);
  }

  function render(v) {
    const samples = v.samples || [];
    const speech = samples.reduce((a, s) => a + (Number(s.speech_s) || 0), 0);
    const title = root.querySelector('#page-title');
    title.textContent = v.name ? `${v.name}` : v.user_id;
    const meta = v.metadata && typeof v.metadata === 'object' && Object.keys(v.metadata).length
      ? h('pre', { class: 'json' }, JSON.stringify(v.metadata, null, 2)) : dash;
    const info = kvList([
      ['User id', h('code', { class: 'wrap' }, v.user_id)],
      ['Name', v.name || dash],
      ['Status', badge(v.status || 'unknown')],
      ['Samples', num(v.num_samples ?? samples.length)],
      ['Speech enrolled', samples.length ? secs(speech) : dash],
      ['Model', h('code', { class: 'wrap' }, v.model_id || dash)],
      ['Version', num(v.version)],
      ['Created', time(v.created_at)],
      ['Updated', time(v.updated_at)],
      ['Metadata', meta],
    ]);
    const { table: st, tbody } = table('vp-samples', 'Samples', ['Sample', 'Speech', 'Model', 'Added']);
    if (!samples.length) emptyRow(tbody, 4, 'No samples listed.');
    for (const s of samples) {
      tbody.append(h('tr', null,
        h('td', null, h('code', null, String(s.sample_id || dash).slice(0, 12))),
        h('td', { class: 'num' }, secs(s.speech_s)),
        h('td', null, h('code', { class: 'wrap' }, s.model_id || dash)),
        h('td', null, time(s.created_at))));
    }
    const actions = [
      h('a', { class: 'button', href: '#/verify?mode=verify&user_id=' + encodeURIComponent(v.user_id) }, 'Verify this voice'),
      h('a', { class: 'button ghost', href: '#/enroll?user_id=' + encodeURIComponent(v.user_id) }, 'Add samples'),
    ];
    let admin = null;
    if (ctx.isAdmin) {
      const sel = select('vp-status', STATUSES, v.status);
      const save = h('button', { type: 'button', id: 'vp-status-save', class: 'primary' }, 'Save status');
      const delBtn = h('button', { type: 'button', id: 'vp-delete', class: 'danger' }, 'Delete voiceprint');
      save.addEventListener('click', async () => {
        save.disabled = true;
        try {
          const r = await api.put('/api/v1/voiceprint/' + encodeURIComponent(v.user_id) + '/status',
            { json: { status: sel.value } });
          notify(`Status of ${v.user_id} is now ${r.status || sel.value}.`, 'success');
          await load();
        } catch (e) {
          notifyError(e, 'Could not change the status');
        } finally {
          save.disabled = false;
        }
      });
      delBtn.addEventListener('click', async () => {
        const ok = await confirmDialog({
          title: 'Delete this voiceprint?',
          text: `\u201c${v.name || v.user_id}\u201d (${v.user_id}) and all ${num(v.num_samples ?? samples.length)} ` +
            'sample(s) are removed everywhere. The audit log keeps the fact of the deletion. This cannot be undone.',
          ok: 'Delete', danger: true,
        });
        if (!ok) { delBtn.focus(); return; }
        try {
          await api.del('/api/v1/voiceprint/' + encodeURIComponent(v.user_id));
          notify(`Voiceprint ${v.user_id} deleted.`, 'success');
          location.hash = '#/voiceprints';
        } catch (e) {
          notifyError(e, 'Could not delete');
        }
      });
      admin = card('Manage', h('div', null,
        h('div', { class: 'toolbar' }, field('Status', sel), save),
        h('p', { class: 'hint' }, 'Only active voices verify and take part in identification; the others keep ' +
          'their voiceprint and can be reactivated.'),
        h('div', { class: 'toolbar danger-zone' }, delBtn,
          h('p', { class: 'hint' }, 'Deleting removes the voice and every sample from every tier.'))));
    }
    replace(detail,
      h('div', { class: 'grid two' },
        card('Details', h('div', null, info, h('div', { class: 'actions' }, actions))),
        admin),
      card('Samples', st));
  }

  load();
  return () => { alive = false; };
}
