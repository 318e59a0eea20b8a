// Overview: health, model, users, sessions, broadcasts, HTTP rate and latency, outcomes. Live.
import * as api from './api.js';
import { h, replace, num, pct, bytes, dash } from './dom.js';
import { badge, card, kvList, markReady, pageRoot, poller } from './ui.js';
import { lineChart, COLOURS } from './chart.js';

const HISTORY = 150; // points of the rate chart (5 min at one poll per 2 s)

function bar(parts) {
  const total = parts.reduce((a, p) => a + (p.value || 0), 0);
  const track = h('div', { class: 'stackbar', role: 'img',
    'aria-label': parts.map((p) => `${p.label} ${p.value || 0}`).join(', ') });
  for (const p of parts) {
    if (!p.value) continue;
    const seg = h('span', { class: ['stackbar-seg', 'seg-' + p.kind] });
    seg.style.width = `${(100 * p.value) / total}%`;
    track.append(seg);
  }
  if (total === 0) track.append(h('span', { class: 'stackbar-empty' }));
  return track;
}

function legend(parts) {
  return h('ul', { class: 'legend' }, parts.map((p) =>
    h('li', null, h('span', { class: ['swatch', 'seg-' + p.kind], 'aria-hidden': 'true' }),
      `${p.label}: `, h('strong', null, num(p.value)))));
}

export function mount(view, ctx) {
  const root = pageRoot('overview', 'Overview',
    h('p', { class: 'subtle' }, 'Updated every 2 s.'));
  const health = h('div', { id: 'ov-health', class: 'card-body' }, 'Loading\u2026');
  const model = h('div', { id: 'ov-model', class: 'card-body' });
  const users = h('div', { id: 'ov-users', class: 'card-body' });
  const sessions = h('div', { id: 'ov-sessions', class: 'card-body' });
  const broadcasts = h('div', { id: 'ov-broadcasts', class: 'card-body' });
  const rps = h('div', { id: 'ov-rps', class: 'card-body' });
  const latency = h('div', { id: 'ov-latency', class: 'card-body' });
  const outcomes = h('div', { id: 'ov-outcomes', class: 'card-body' });
  const chartBox = h('div', { class: 'chart', id: 'ov-rate-chart' });
  const chartNote = h('p', { class: 'subtle' });

  root.append(
    h('div', { class: 'grid cards' },
      card('Health', health),
      card('Model', model),
      card('Voiceprints', users),
      card('Live sessions', sessions),
      card('Broadcasts', broadcasts),
      card('Requests', rps),
      card('Latency', latency),
      card('Verification outcomes', outcomes)),
    card('Requests per second and p99 latency (this page\u2019s view)', h('div', null, chartBox, chartNote),
      { class: 'wide' }));
  view.append(root);

  const chart = lineChart(chartBox, {
    xLabel: 'time', yLabel: 'requests/s', y2: 'p99 ms', height: 200, emptyText: 'Collecting\u2026',
    xFmt: (v) => new Date(v * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }),
    series: [
      { label: 'requests/s', stroke: COLOURS.accent, digits: 1 },
      { label: 'p99 ms', stroke: COLOURS.second, scale: 'y2', digits: 1 },
    ],
  });
  const hist = [[], [], []];

  async function refresh() {
    const [stats, hl, ready, sess, bcs] = await Promise.all([
      api.get('/api/v1/stats'),
      api.get('/health').catch((e) => ({ status: 'unreachable', error: api.errorText(e) })),
      api.get('/ready').catch((e) => (e.body ? e.body : { status: 'not ready' })),
      api.get('/api/v1/sessions').catch(() => null),
      ctx.isAdmin ? api.get('/api/v1/broadcasts').catch(() => null) : Promise.resolve(null),
    ]);
    const st = stats.statistics || {};
    const eng = st.voiceprint_engine || {};
    const store = st.distributed_storage || {};
    const cluster = st.cluster || {};
    const http = st.http || null;

    // Health
    const comps = Object.entries((hl && hl.components) || {});
    replace(health,
      h('p', { class: 'big' }, badge(hl.status || 'unknown'), ' ',
        h('span', { class: 'subtle' }, 'ready: '), badge(ready.status === 'ready' ? 'ready' : 'not ready',
          ready.status || 'not ready')),
      comps.length ? h('ul', { class: 'status-list' }, comps.map(([name, c]) =>
        h('li', null, h('span', null, name), badge(c.status || 'unknown')))) : null,
      h('p', { class: 'subtle' }, `Cluster: ${cluster.mode || 'single'}, ${num(cluster.healthy_nodes)} of `,
        `${num(cluster.total_nodes)} node(s) healthy`));

    // Model
    replace(model,
      h('p', { class: 'model-id' }, h('code', { class: 'wrap' }, eng.model || dash)),
      kvList([
      ['Operating point', eng.security_level || dash],
      ['Threshold', num(eng.threshold, 3)],
      ['Calibrated', eng.calibrated === undefined ? dash : eng.calibrated ? 'yes' : 'no (raw cosine)'],
      ['Workers busy', `${num(eng.inference_busy_workers)} of ${num(eng.inference_workers)}`],
      ['Queue', num(eng.inference_queue_depth)],
    ]));

    // Users
    const byStatus = store.users_by_status || {};
    replace(users,
      h('p', { class: 'big' }, h('strong', null, num(store.users ?? eng.indexed_users)), ' enrolled'),
      kvList([
        ['In the 1:N index', num(eng.indexed_users)],
        ['By status', Object.entries(byStatus).filter(([, v]) => v > 0).length
          ? h('span', { class: 'chips' }, Object.entries(byStatus).filter(([, v]) => v > 0)
            .map(([k, v]) => badge(k, `${k} ${num(v)}`))) : dash],
        ['Samples', num(store.samples)],
        ['Store', `${store.backend || dash}${store.bytes_on_disk !== undefined ? ', ' + bytes(store.bytes_on_disk) : ''}`],
      ]));

    // Sessions
    if (sess) {
      const list = sess.sessions || [];
      const kinds = {};
      for (const s of list) { const k = s.kind === 'sip' ? 'sip' : 'stream'; kinds[k] = (kinds[k] || 0) + 1; }
      replace(sessions,
        h('p', { class: 'big' }, h('strong', null, num(sess.active ?? list.length)), ' live'),
        kvList([
          ['SIP calls', num(kinds.sip || 0)],
          ['WebSocket streams', num(kinds.stream || 0)],
        ]),
        h('p', null, h('a', { href: '#/sessions' }, 'Open live sessions')));
    } else {
      replace(sessions, h('p', { class: 'subtle' }, 'Sessions are not available.'));
    }

    // Broadcasts
    if (!ctx.isAdmin) {
      replace(broadcasts, h('p', { class: 'subtle' }, 'Broadcasts need an admin key.'));
    } else if (bcs) {
      const list = bcs.broadcasts || [];
      const live = list.filter((b) => b.state === 'live' || b.state === 'reconnecting').length;
      replace(broadcasts,
        h('p', { class: 'big' }, h('strong', null, num(live)), ' on air'),
        kvList([['Listed (incl. ended)', num(list.length)]]),
        h('p', null, h('a', { href: '#/broadcasts' }, 'Open broadcasts')));
    } else {
      replace(broadcasts, h('p', { class: 'subtle' }, 'Broadcasting is not enabled on this server.'));
    }

    // HTTP
    const now = Date.now() / 1000;
    if (http) {
      replace(rps,
        h('p', { class: 'big' }, h('strong', null, num(http.rate_per_s, 1)), ' req/s'),
        h('p', { class: 'subtle' }, 'over the last 60 s'),
        kvList([
          ['Requests', num(http.requests_total)],
          ['Errors', num(http.errors_total)],
        ]));
      replace(latency,
        kvList([
          ['p50', `${num(http.latency_p50_ms, 1)} ms`],
          ['p99', `${num(http.latency_p99_ms, 1)} ms`],
        ], 'kv-big'),
        h('p', { class: 'subtle' }, 'over the last 60 s'));
      hist[0].push(now);
      hist[1].push(http.rate_per_s ?? null);
      hist[2].push(http.latency_p99_ms ?? null);
      chartNote.textContent = '';
    } else {
      replace(rps, h('p', { class: 'subtle' }, 'This server does not report HTTP statistics yet ' +
        '(statistics.http); see /metrics.'));
      replace(latency, h('p', { class: 'subtle' }, 'Not reported by this server.'));
      chartNote.textContent = 'No HTTP statistics from this server.';
    }
    if (hist[0].length > HISTORY) hist.forEach((a) => a.shift());
    chart.set(hist);

    // Outcomes
    const parts = [
      { label: 'verified', value: eng.verified || 0, kind: 'good' },
      { label: 'rejected', value: eng.rejected || 0, kind: 'bad' },
      { label: 'inconclusive', value: eng.inconclusive || 0, kind: 'neutral' },
    ];
    replace(outcomes,
      h('p', null, h('strong', null, num(eng.verifications)), ' verifications'),
      bar(parts), legend(parts),
      kvList([
        ['Identifications', num(eng.identifications)],
        ['Registrations', num(eng.registrations)],
        ['Reject rate', eng.verifications ? pct((eng.rejected || 0) / eng.verifications) : dash],
      ]));
    markReady(root);
  }

  const p = poller(refresh, 2000);
  return () => { p.stop(); chart.destroy(); };
}
