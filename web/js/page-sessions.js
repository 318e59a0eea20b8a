// Live sessions (WebSocket streams and SIP calls): a self-updating list and one session's page
// with its speaker timeline, scores, speech activity, QoS windows, DTMF and end reason.
import * as api from './api.js';
import { h, replace, num, secs, duration, time, str, bytes, dash } from './dom.js';
import { badge, card, emptyRow, kvList, markReady, pageRoot, poller, speakerColour, table } from './ui.js';
import { scoreChart } from './chart.js';

export function mount(view, ctx) {
  return ctx.params.length ? mountSession(view, ctx, ctx.params[0]) : mountList(view, ctx);
}

/** Who spoke last: the newest decision with a name, or "Unknown". */
function lastSpeaker(s) {
  const tl = Array.isArray(s.timeline) ? s.timeline : null;
  const src = tl && tl.length ? tl : (s.decisions || []).filter((d) => d.type !== 'enrolled');
  for (let i = src.length - 1; i >= 0; i -= 1) {
    const d = src[i];
    if (d.decision === 'verified' || d.decision === 'identified') return { id: d.user_id, name: d.name || d.user_id };
    if (d.decision) return { id: '', name: 'Unknown' };
  }
  if (s.mode === 'enroll' && s.user_id) return { id: s.user_id, name: `enrolling ${s.user_id}` };
  return null;
}

function infoSummary(info) {
  if (!info || typeof info !== 'object') return dash;
  const keys = ['scenario', 'from', 'remote', 'remote_address', 'call_id', 'peer'];
  const parts = [];
  for (const k of keys) if (info[k] !== undefined && info[k] !== '') parts.push(`${k}: ${str(info[k])}`);
  return parts.length ? parts.slice(0, 2).join(' \u00b7 ') : dash;
}

function mountList(view, ctx) {
  const root = pageRoot('sessions', 'Live sessions',
    h('p', { class: 'subtle' }, 'WebSocket streams and SIP calls. Updated every 1.5 s.'));
  const showEnded = h('input', { type: 'checkbox', id: 'sessions-ended', checked: ctx.query.get('ended') !== '0' });
  const counts = h('p', { class: 'subtle', id: 'sessions-count', 'aria-live': 'polite' });
  const { table: tbl, tbody } = table('sessions-table', 'Sessions',
    ['Session', 'Kind', 'State', 'Mode', 'Codec', 'Started', 'Duration', 'Speaker', 'Speech', 'Details']);
  root.append(card('Sessions', h('div', null,
    h('div', { class: 'toolbar' }, h('div', { class: 'check' }, showEnded,
      h('label', { for: 'sessions-ended' }, 'Include recently ended sessions')), counts),
    tbl)));
  view.append(root);

  async function refresh() {
    const r = await api.get('/api/v1/sessions', { query: { include_ended: showEnded.checked ? 'true' : '' } });
    const list = (r.sessions || []).slice().sort((a, b) => {
      const sa = a.state === 'active' ? 0 : 1;
      const sb = b.state === 'active' ? 0 : 1;
      return sa - sb || (b.started_at_ms || 0) - (a.started_at_ms || 0);
    });
    const rows = [];
    for (const s of list) {
      const id = s.session_id || s.id;
      const who = lastSpeaker(s);
      rows.push(h('tr', { dataset: { sessionId: id, kind: s.kind || '', state: s.state || '' } },
        h('td', null, h('a', { href: '#/sessions/' + encodeURIComponent(id) }, h('code', null, id))),
        h('td', null, s.kind === 'sip' ? 'SIP call' : 'WebSocket'),
        h('td', null, badge(s.state === 'active' ? 'live' : s.state || 'unknown', s.state || 'unknown')),
        h('td', null, str(s.mode)),
        h('td', null, `${str(s.codec)}${s.sample_rate ? ' / ' + num(s.sample_rate / 1000, 0) + ' kHz' : ''}`),
        h('td', null, time(s.started_at_ms)),
        h('td', { class: 'num' }, duration(s.duration_s)),
        h('td', null, who ? h('span', { class: 'speaker' },
          h('span', { class: 'dot', 'aria-hidden': 'true' }), who.name) : dash),
        h('td', { class: 'num' }, secs(s.speech_s)),
        h('td', null, infoSummary(s.info))));
      const dot = rows[rows.length - 1].querySelector('.dot');
      if (dot) dot.style.background = speakerColour(who && who.id);
    }
    if (rows.length) tbody.replaceChildren(...rows);
    else emptyRow(tbody, 10, showEnded.checked ? 'No sessions yet. Start one from Verify, or place a SIP call.'
      : 'No live session right now.');
    counts.textContent = `${num(r.active ?? list.filter((s) => s.state === 'active').length)} live` +
      (showEnded.checked ? `, ${num(list.length)} listed` : '');
    markReady(root);
  }
  const p = poller(refresh, 1500);
  showEnded.addEventListener('change', () => p.now());
  return () => p.stop();
}

// ---- one session ---------------------------------------------------------------------------------

/** Timeline entries from `timeline`, or built from `decisions` on a server without it. */
function timelineOf(s) {
  if (Array.isArray(s.timeline)) return s.timeline;
  const byTurn = new Map();
  for (const d of s.decisions || []) {
    if (d.type === 'enrolled') continue;
    const t = Number(d.turn) || 0;
    byTurn.set(t, { turn: t, start_s: Number(d.turn_start_s) || 0, end_s: null,
      user_id: d.decision === 'verified' || d.decision === 'identified' ? d.user_id || '' : '',
      name: d.decision === 'verified' || d.decision === 'identified' ? d.name || d.user_id || '' : '',
      decision: d.decision || null, score: Number.isFinite(d.score) ? d.score : null });
  }
  const list = [...byTurn.values()].sort((a, b) => a.start_s - b.start_s);
  for (let i = 0; i < list.length - 1; i += 1) list[i].end_s = list[i + 1].start_s;
  return list;
}

const QOS_ORDER = ['mos', 'r_factor', 'jitter_ms', 'jitter_s', 'loss_pct', 'rtt_ms', 'rtt_s', 'one_way_delay_ms',
  'packets_expected', 'packets_received', 'packets_lost', 'late', 'duplicates', 'reordered', 'frames',
  'concealed_frames', 'concealed_pct', 'frames_dropped', 'speech_ratio', 'processing_lag_ms.mean',
  'processing_lag_ms.p95', 'processing_lag_ms.max', 'bytes_in', 'bitrate_kbps', 'bitrate_bps', 'audio_s',
  'duration_s', 'window_s'];
const QOS_LABELS = {
  mos: 'MOS', r_factor: 'R-factor', jitter_ms: 'Jitter', jitter_s: 'Jitter', loss_pct: 'Packet loss',
  rtt_ms: 'Round-trip time', rtt_s: 'Round-trip time', one_way_delay_ms: 'One-way delay',
  packets_expected: 'Packets expected', packets_received: 'Packets received', packets_lost: 'Packets lost',
  late: 'Late packets', duplicates: 'Duplicate packets', reordered: 'Reordered packets', frames: 'Frames',
  concealed_frames: 'Concealed frames', concealed_pct: 'Concealed', frames_dropped: 'Frames dropped',
  speech_ratio: 'Speech', 'processing_lag_ms.mean': 'Processing lag (mean)',
  'processing_lag_ms.p95': 'Processing lag (p95)', 'processing_lag_ms.max': 'Processing lag (max)',
  bytes_in: 'Bytes in', bitrate_kbps: 'Bitrate', bitrate_bps: 'Bitrate', audio_s: 'Audio', duration_s: 'Duration',
  window_s: 'Window',
};

/** Numeric fields of a QoS summary, nested objects flattened one level ("processing_lag_ms.p95"). */
function flatQos(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj || {})) {
    if (typeof v === 'number' || v === null) out[k] = v;
    else if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) if (typeof v2 === 'number' || v2 === null) out[`${k}.${k2}`] = v2;
    }
  }
  return out;
}

function qosValue(key, v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return dash;
  const base = key.split('.')[0];
  if (base.endsWith('_ms')) return `${num(v, 1)} ms`;
  if (base.endsWith('_pct')) return `${num(v, 2)} %`;
  if (base.endsWith('_kbps')) return `${num(v, 0)} kbit/s`;
  if (base.endsWith('_bps')) return `${num(v / 1000, 0)} kbit/s`;
  if (base === 'speech_ratio') return `${num(v * 100, 0)} %`;
  if (base === 'audio_s' || base === 'duration_s' || base === 'window_s') return `${num(v, 1)} s`;
  if (base.endsWith('_s')) return `${num(v * 1000, 1)} ms`;
  if (base === 'bytes_in') return bytes(v);
  if (base === 'mos' || base === 'r_factor') return num(v, 2);
  return Number.isInteger(v) ? num(v) : num(v, 2);
}

function qosTable(qos) {
  const windows = (qos && qos.windows) || {};
  const cols = [['Whole session', flatQos(qos && qos.totals)]];
  const keys = Object.keys(windows).sort((a, b) => parseFloat(a) - parseFloat(b));
  for (const k of keys) cols.push([`Last ${k.replace(/s$/, ' s')}`, flatQos(windows[k])]);
  const fields = [];
  for (const [, obj] of cols) for (const k of Object.keys(obj)) if (!fields.includes(k)) fields.push(k);
  const rank = (k) => (QOS_ORDER.indexOf(k) < 0 ? 999 : QOS_ORDER.indexOf(k));
  fields.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const label = (k) => QOS_LABELS[k] || k.replace(/[._]/g, ' ');
  const t = h('table', { class: 'data qos' },
    h('caption', { class: 'sr-only' }, 'Quality of service: the whole session and the sliding windows'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Metric'), cols.map(([l]) => h('th', { scope: 'col', class: 'num' }, l)))),
    h('tbody', null, fields.map((f) => h('tr', null, h('th', { scope: 'row' }, label(f)),
      cols.map(([, obj]) => h('td', { class: 'num' }, qosValue(f, obj[f])))))));
  return fields.length ? h('div', { class: 'table-wrap' }, t) : h('p', { class: 'subtle' }, 'No QoS figures yet.');
}

function mountSession(view, ctx, id) {
  const root = pageRoot('session', 'Session',
    h('a', { href: '#/sessions', class: 'back' }, '\u2190 All sessions'));
  const head = h('div', { id: 'session-head' }, 'Loading\u2026');
  const timeline = h('div', { id: 'session-timeline', class: 'timeline' });
  const legend = h('ul', { class: 'timeline-list', id: 'session-turns' });
  const speechLane = h('div', { id: 'session-speech', class: 'lane speech-lane', role: 'img',
    'aria-label': 'Speech activity' });
  const axis = h('div', { class: 'lane-axis', 'aria-hidden': 'true' });
  const scoresBox = h('div', { id: 'session-scores', class: 'chart', role: 'img',
    'aria-label': 'Scores against the threshold over the session' });
  const qos = h('div', { id: 'session-qos' });
  const dtmf = h('p', { id: 'session-dtmf', class: 'dtmf' });
  const endReason = h('p', { id: 'session-end-reason' });
  const decisions = h('div', { id: 'session-decisions' });

  root.append(
    head,
    card('Speakers', h('div', null,
      h('p', { class: 'subtle' }, 'Each turn is coloured by the identified speaker; voices nobody matched are \u201cUnknown\u201d.'),
      timeline, h('h3', { class: 'lane-title' }, 'Speech activity'), speechLane, axis, legend)),
    h('div', { class: 'grid two' },
      card('Scores', scoresBox),
      card('Decisions', decisions)),
    card('Quality of service', qos),
    h('div', { class: 'grid two' }, card('DTMF keys', dtmf), card('End', endReason)));
  view.append(root);

  const chart = scoreChart(scoresBox, { xLabel: 'session time (s)', emptyText: 'No score yet.' });
  const seen = new Map(); // fallback score history from last_score: t -> [score, threshold]
  let p = null;
  let endedPolls = 0;

  function lanePos(el, start, end, span) {
    el.style.left = `${(100 * Math.max(0, start)) / span}%`;
    el.style.width = `${Math.max(0.4, (100 * Math.max(0, end - start)) / span)}%`;
  }

  function render(s) {
    const span = Math.max(1, Number(s.duration_s) || 0,
      ...((s.speech || []).map((x) => Number(x.end_s) || 0)),
      ...((s.timeline || []).map((x) => Number(x.end_s ?? x.start_s) || 0)));
    root.querySelector('#page-title').textContent = `${s.kind === 'sip' ? 'SIP call' : 'Stream'} ${s.session_id || id}`;
    const info = s.info && typeof s.info === 'object' ? Object.entries(s.info) : [];
    replace(head, card('Session', h('div', null,
      kvList([
        ['State', badge(s.state === 'active' ? 'live' : s.state || 'unknown', s.state || 'unknown')],
        ['Kind', s.kind === 'sip' ? 'SIP call' : 'WebSocket stream'],
        ['Mode', str(s.mode)],
        ['Claimed user', s.user_id || undefined],
        ['Codec', `${str(s.codec)}${s.sample_rate ? `, ${num(s.sample_rate)} Hz` : ''}`],
        ['Started', time(s.started_at_ms)],
        ['Duration', duration(s.duration_s)],
        ['Speech', `${secs(s.speech_s)} in ${num(s.speech_segments)} segment(s)`],
        ...info.map(([k, v]) => [k, str(v)]),
      ], 'kv-cols'))));

    // Timeline: one element per turn, coloured by speaker.
    const turns = timelineOf(s);
    const nowEnd = Number(s.duration_s) || span;
    const lane = h('div', { class: 'lane turns-lane' });
    const items = [];
    for (const t of turns) {
      const known = !!t.user_id && !['rejected', 'unknown', 'inconclusive'].includes(t.decision);
      const label = known ? t.name || t.user_id : 'Unknown';
      const end = t.end_s === null || t.end_s === undefined ? nowEnd : Number(t.end_s);
      const seg = h('div', { class: ['turn', known ? 'known' : 'unknown'],
        dataset: { turn: t.turn, userId: known ? t.user_id : '', decision: t.decision || '' },
        title: `${label}: ${num(t.start_s, 1)}\u2013${num(end, 1)} s` },
      h('span', { class: 'turn-label' }, label));
      lanePos(seg, Number(t.start_s) || 0, end, span);
      if (known) seg.style.background = speakerColour(t.user_id);
      lane.append(seg);
      const dot = h('span', { class: 'dot', 'aria-hidden': 'true' });
      dot.style.background = speakerColour(known ? t.user_id : '');
      items.push(h('li', null, dot,
        h('strong', null, label), ' ',
        h('span', { class: 'subtle' }, `turn ${t.turn}, ${num(t.start_s, 1)}\u2013${t.end_s === null || t.end_s === undefined ? 'now' : num(t.end_s, 1)} s`),
        [' ', t.decision ? badge(t.decision) : badge('undecided')],
        Number.isFinite(t.score) ? h('span', { class: 'subtle' }, ` score ${num(t.score, 3)}`) : null));
    }
    if (!turns.length) lane.append(h('p', { class: 'lane-empty' }, 'No speaker turn yet.'));
    replace(timeline, lane);
    replace(legend, ...items);

    // Speech activity
    const speech = Array.isArray(s.speech) ? s.speech : [];
    replace(speechLane);
    for (const seg of speech) {
      const el = h('span', { class: 'speech-seg' });
      lanePos(el, Number(seg.start_s), Number(seg.end_s ?? nowEnd), span);
      speechLane.append(el);
    }
    if (!Array.isArray(s.speech)) speechLane.append(h('p', { class: 'lane-empty' }, 'Not reported by this server.'));
    else if (!speech.length) speechLane.append(h('p', { class: 'lane-empty' }, 'No speech yet.'));
    replace(axis, h('span', null, '0 s'), h('span', null, `${num(span / 2, 0)} s`), h('span', null, `${num(span, 0)} s`));

    // Scores
    let xs = [];
    let ys = [];
    let th = [];
    if (Array.isArray(s.scores)) {
      for (const p2 of s.scores) { xs.push(Number(p2.t_s)); ys.push(p2.score); th.push(p2.threshold ?? null); }
    } else if (s.last_score && Number.isFinite(s.last_score.score)) {
      const ls = s.last_score;
      seen.set(Number(ls.time_s ?? ls.speech_s ?? seen.size), [ls.score, ls.threshold ?? null]);
      const keys = [...seen.keys()].sort((a, b) => a - b);
      xs = keys;
      ys = keys.map((k) => seen.get(k)[0]);
      th = keys.map((k) => seen.get(k)[1]);
    }
    chart.set([xs, ys, th]);

    // Decisions
    const ds = (s.decisions || []);
    if (!ds.length) replace(decisions, h('p', { class: 'subtle' }, 'No decision yet.'));
    else {
      replace(decisions, h('ul', { class: 'decisions' }, ds.map((d) => h('li', null,
        badge(d.decision || d.type || 'event'), ' ',
        d.user_id ? h('strong', null, d.name || d.user_id) : null,
        h('span', { class: 'subtle' }, [
          Number.isFinite(d.score) ? ` score ${num(d.score, 3)} / ${num(d.threshold, 3)}` : '',
          Number.isFinite(d.time_s) ? ` at ${num(d.time_s, 1)} s` : '',
          Number.isFinite(d.latency_ms) ? `, ${num(d.latency_ms, 0)} ms` : '',
          d.message ? ` \u2014 ${d.message}` : ''].join(''))))));
    }

    replace(qos, qosTable(s.qos));
    dtmf.textContent = s.dtmf ? s.dtmf.split('').join(' ') : 'No keys pressed.';
    endReason.textContent = s.state === 'ended' ? `Ended: ${s.end_reason || 'no reason given'}` : 'Still active.';
  }

  async function refresh() {
    let r;
    try {
      r = await api.get('/api/v1/sessions/' + encodeURIComponent(id));
    } catch (e) {
      if (e instanceof api.ApiError && e.status === 404) {
        replace(head, h('p', { class: 'form-error', role: 'alert' },
          'This session is not known (any more): ended sessions are kept for a while only.'));
        markReady(root);
        if (p) p.stop();
        return;
      }
      throw e;
    }
    const s = r.session || r;
    render(s);
    markReady(root);
    if (s.state === 'ended') {
      endedPolls += 1;
      if (endedPolls > 1 && p) p.stop();
    }
  }
  p = poller(refresh, 1000);
  return () => { p.stop(); chart.destroy(); };
}
