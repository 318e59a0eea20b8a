// Cluster: the nodes with health, weight and counters; cluster-wide analytics when a gateway or a
// Redis event stream provides them, else "single node".
import * as api from './api.js';
import { h, replace, num, pct, time, str, dash } from './dom.js';
import { badge, card, emptyRow, kvList, markReady, pageRoot, poller, table } from './ui.js';

export function mount(view) {
  const root = pageRoot('cluster', 'Cluster', h('p', { class: 'subtle' }, 'Updated every 2 s.'));
  const summary = h('div', { id: 'cluster-summary' }, 'Loading\u2026');
  const { table: nodesWrap, tbody } = table('cluster-nodes', 'Cluster nodes',
    ['Node', 'Address', 'Health', 'Weight', 'Connections', 'Requests', 'Errors', 'Avg response', 'Last check', 'Role']);
  const analytics = h('div', { id: 'cluster-analytics' }, 'Loading\u2026');
  root.append(card('Summary', summary), card('Nodes', nodesWrap), card('Cluster-wide analytics', analytics));
  view.append(root);
  let analyticsMissing = false;

  async function refresh() {
    const [st, nodesRes] = await Promise.all([
      api.get('/api/v1/cluster/status'),
      api.get('/api/v1/cluster/nodes').catch(() => null),
    ]);
    const cs = st.cluster_status || st;
    const nodes = (nodesRes && nodesRes.nodes) || cs.nodes || [];
    replace(summary, kvList([
      ['Mode', cs.mode === 'single' ? 'single node' : str(cs.mode)],
      ['Healthy nodes', `${num(cs.healthy_nodes)} of ${num(cs.total_nodes)}`],
      ['Strategy', cs.strategy || cs.load_balancing || undefined],
    ], 'kv-cols'));

    const rows = nodes.map((n) => h('tr', { dataset: { nodeId: n.node_id } },
      h('td', null, h('code', null, str(n.node_id))),
      h('td', null, `${str(n.host)}:${str(n.port)}`),
      h('td', null, badge(n.is_healthy ? 'healthy' : 'unhealthy')),
      h('td', { class: 'num' }, num(n.weight)),
      h('td', { class: 'num' }, num(n.active_connections)),
      h('td', { class: 'num' }, num(n.total_requests)),
      h('td', { class: 'num' }, num(n.error_count)),
      h('td', { class: 'num' }, Number.isFinite(n.avg_response_time) ? `${num(n.avg_response_time * 1000, 1)} ms` : dash),
      h('td', null, time(n.last_health_check)),
      h('td', null, str(n.metadata && n.metadata.role))));
    if (rows.length) tbody.replaceChildren(...rows);
    else emptyRow(tbody, 10, 'No node registered.');

    // A single node has no aggregator (the route answers 404): do not ask.
    if (cs.mode === 'single' || analyticsMissing) {
      replace(analytics, h('p', { class: 'big' }, 'Single node'),
        h('p', { class: 'subtle' }, 'Cluster-wide analytics come from the Redis event stream of a cluster ' +
          '(docs/scale-out.md). This node\u2019s own figures are on the overview.'));
    } else {
      try {
        const a = await api.get('/api/v1/analytics/cluster');
        const c = a.cluster || a;
        const dec = c.decisions || {};
        const mos = c.mos || {};
        replace(analytics,
          h('p', { class: 'subtle' }, `Sliding window of ${num(c.window_s)} s.`),
          kvList([
            ['Active nodes', num(c.active_nodes)],
            ['Events', num(c.events)],
            ['Sessions started', num(c.sessions_started)],
            ['Verifications / min', num(c.verifications_per_min, 1)],
            ['Reject rate', c.reject_rate === null || c.reject_rate === undefined ? dash : pct(c.reject_rate)],
            ['Identifications / min', num(c.identifications_per_min, 1)],
            ['Enrollments', num(c.enrollments)],
            ['Decisions', Object.keys(dec).length ? Object.entries(dec).map(([k, v]) => `${k} ${num(v)}`).join(' \u00b7 ') : dash],
            ['MOS (mean / min / max)', mos.samples ? `${num(mos.mean, 2)} / ${num(mos.min, 2)} / ${num(mos.max, 2)}` : dash],
          ], 'kv-cols'),
          c.nodes && typeof c.nodes === 'object' && Object.keys(c.nodes).length
            ? h('ul', { class: 'status-list' }, Object.entries(c.nodes).map(([id, n]) =>
              h('li', null, h('code', null, id), h('span', null, `${num(n.events)} events `, badge(n.active ? 'active' : 'inactive')))))
            : null);
      } catch (e) {
        if (e instanceof api.ApiError && e.status === 404) {
          analyticsMissing = true;
          replace(analytics, h('p', { class: 'big' }, 'Single node'),
            h('p', { class: 'subtle' }, 'This server has no cluster-wide analytics (no Redis event stream).'));
        } else {
          replace(analytics, h('p', { class: 'form-error' }, api.errorText(e)));
        }
      }
    }
    markReady(root);
  }
  const p = poller(refresh, 2000);
  return () => p.stop();
}
