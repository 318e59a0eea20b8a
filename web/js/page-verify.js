// Verify (1:1) and identify (1:N): live from the microphone over the WebSocket, or by file (REST).
import * as api from './api.js';
import { h, replace, num, pct, secs } from './dom.js';
import { card, field, markReady, notify, pageRoot, select } from './ui.js';
import { scoreChart } from './chart.js';
import { LiveStream } from './stream.js';

const LABELS = {
  verified: 'Verified', rejected: 'Rejected', identified: 'Identified', unknown: 'Unknown speaker',
  inconclusive: 'Inconclusive',
};

export function mount(view, ctx) {
  const root = pageRoot('verify', 'Verify & identify',
    h('p', { class: 'subtle' }, 'Speak into the microphone or send a recording: is it the claimed person ' +
      '(verify), or who of the enrolled is it (identify)?'));
  const names = new Map(); // user_id -> name, for identify matches

  const mode = select('vf-mode', [['verify', 'Verify (1:1): is it this person?'],
    ['identify', 'Identify (1:N): who is it?']], ctx.query.get('mode') === 'identify' ? 'identify' : 'verify');
  const userId = h('input', { id: 'vf-user-id', autocomplete: 'off', spellcheck: 'false', maxlength: 128,
    value: ctx.query.get('user_id') || '', list: 'vf-users' });
  const users = h('datalist', { id: 'vf-users' });
  const level = select('vf-level', [['high', 'high (0.1 % false accepts)'], ['balanced', 'balanced (1 %)'],
    ['convenient', 'convenient (5 %)']], 'balanced');
  const autostop = h('input', { id: 'vf-autostop', type: 'checkbox', checked: true });
  const start = h('button', { type: 'button', id: 'vf-start', class: 'primary' }, 'Start microphone');
  const stop = h('button', { type: 'button', id: 'vf-stop', disabled: true }, 'Stop');
  const meter = h('meter', { id: 'vf-meter', min: 0, max: 1, low: 0.2, high: 0.9, optimum: 0.5, value: 0 });
  const micStatus = h('p', { class: 'subtle', id: 'vf-status', 'aria-live': 'polite' }, 'Not listening.');
  const fileIn = h('input', { id: 'vf-file', type: 'file', accept: 'audio/*,.wav,.flac,.mp3,.m4a,.aac,.ogg,.opus' });
  const upload = h('button', { type: 'button', id: 'vf-upload' }, 'Send file');
  const userField = field('Claimed user id', userId, 'The identity to check (verify only).');

  const decision = h('div', { id: 'vf-decision', class: 'decision', role: 'status', 'aria-live': 'assertive',
    'aria-atomic': 'true' }, h('span', { class: 'decision-badge badge-neutral' }, 'No decision yet'));
  const detail = h('p', { class: 'decision-detail', id: 'vf-detail' });
  const chartBox = h('div', { id: 'vf-chart', class: 'chart', role: 'img',
    'aria-label': 'Running score against the threshold, over seconds of speech' });
  const matches = h('ol', { id: 'vf-matches', class: 'matches' });
  const matchesNote = h('p', { class: 'subtle', id: 'vf-matches-note' }, 'Identify lists the closest voices here.');
  const matchesBox = h('div', { id: 'vf-matches-box' }, h('h3', null, 'Closest voices'), matchesNote, matches);

  root.append(
    h('div', { class: 'grid two' },
      card('Setup', h('div', null,
        h('div', { class: 'grid two tight' }, field('Mode', mode), field('Security level', level,
          'The operating point: its target false-accept rate.')),
        userField, users,
        h('div', { class: 'check' }, autostop, h('label', { for: 'vf-autostop' }, 'Stop at the first decision')),
        h('h3', null, 'Microphone'),
        h('div', { class: 'actions' }, start, stop),
        h('div', { class: 'meter-row' }, h('label', { for: 'vf-meter' }, 'Input level'), meter),
        micStatus,
        h('h3', null, 'Or a recording'),
        field('Audio file', fileIn),
        h('div', { class: 'actions' }, upload))),
      card('Decision', h('div', null, decision, detail,
        h('h3', null, 'Score against the threshold'), chartBox,
        matchesBox))));
  view.append(root);

  const chart = scoreChart(chartBox);
  let series = [[], [], []];

  function syncMode() {
    const verify = mode.value === 'verify';
    userField.hidden = !verify;
    userId.disabled = !verify;
    matchesBox.hidden = verify;
  }
  mode.addEventListener('change', syncMode);
  syncMode();

  if (ctx.isAdmin) {
    api.get('/api/v1/voiceprints', { query: { limit: 1000, status: 'active' } }).then((r) => {
      for (const v of r.voiceprints || []) {
        names.set(v.user_id, v.name || '');
        users.append(h('option', { value: v.user_id }, v.name || v.user_id));
      }
    }).catch(() => {}).finally(() => markReady(root));
  } else {
    markReady(root);
  }

  function resetResult() {
    decision.dataset.decision = '';
    delete decision.dataset.decision;
    delete decision.dataset.userId;
    replace(decision, h('span', { class: 'decision-badge badge-neutral' }, 'Listening\u2026'));
    detail.textContent = '';
    replace(matches);
    matchesNote.textContent = mode.value === 'identify' ? 'Waiting for enough speech\u2026' : 'Identify lists the closest voices here.';
    series = [[], [], []];
    chart.set(series);
  }

  function nameOf(id, fallback) {
    return fallback || names.get(id) || '';
  }

  function showDecision(d) {
    const kind = d.decision;
    decision.dataset.decision = kind;
    decision.dataset.userId = d.user_id || '';
    const who = d.user_id ? `${nameOf(d.user_id, d.name) || d.user_id}` : '';
    const cls = kind === 'verified' || kind === 'identified' ? 'badge-good'
      : kind === 'rejected' ? 'badge-bad' : 'badge-neutral';
    replace(decision,
      h('span', { class: ['decision-badge', cls] }, LABELS[kind] || kind),
      ' ',
      who && kind !== 'rejected' && kind !== 'unknown' ? h('span', { class: 'decision-who' }, who,
        d.name && d.user_id && d.name !== d.user_id ? h('span', { class: 'subtle' }, ` (${d.user_id})`) : null)
        : kind === 'rejected' && d.user_id ? h('span', { class: 'decision-who subtle' }, `not ${who}`) : null);
    const parts = [];
    if (Number.isFinite(d.score)) parts.push(`score ${num(d.score, 3)} vs threshold ${num(d.threshold, 3)}`);
    if (Number.isFinite(d.confidence)) parts.push(`confidence ${pct(d.confidence, 1)}`);
    if (Number.isFinite(d.speech_s)) parts.push(`after ${secs(d.speech_s)} of speech`);
    if (Number.isFinite(d.latency_ms)) parts.push(`decided ${num(d.latency_ms, 0)} ms after that speech`);
    const why = d.message || d.reason;
    detail.textContent = parts.join(' \u00b7 ') + (why ? (parts.length ? '. ' : '') + why : '');
  }

  function showMatches(list) {
    replace(matches);
    if (!list || !list.length) { matchesNote.textContent = 'No enrolled voice to compare with.'; return; }
    matchesNote.textContent = '';
    const top = Math.max(...list.map((m) => Number(m.score) || 0), 0.0001);
    for (const m of list) {
      const b = h('span', { class: 'match-bar' });
      b.style.width = `${Math.max(2, (100 * Math.max(0, Number(m.score) || 0)) / top)}%`;
      const nm = nameOf(m.user_id, m.name);
      matches.append(h('li', { dataset: { userId: m.user_id } },
        h('span', { class: 'match-name' }, nm || m.user_id,
          nm && nm !== m.user_id ? h('span', { class: 'subtle' }, ` ${m.user_id}`) : null),
        h('span', { class: 'match-score' }, num(m.score, 3),
          Number.isFinite(m.confidence) ? h('span', { class: 'subtle' }, ` (${pct(m.confidence, 1)})`) : null),
        h('span', { class: 'match-track', 'aria-hidden': 'true' }, b)));
    }
  }

  // ---- microphone
  let stream = null;
  let decided = false;
  let started = false;

  function setListening(on) {
    start.disabled = on;
    stop.disabled = !on;
    upload.disabled = on;
    mode.disabled = on;
    level.disabled = on;
    userId.disabled = on || mode.value !== 'verify';
    if (!on) meter.value = 0;
  }

  function onEvent(msg) {
    switch (msg.type) {
      case 'started':
        started = true;
        micStatus.textContent = `Listening at ${num(msg.sample_rate)} Hz` +
          (Number.isFinite(msg.threshold) ? `; nominal threshold ${num(msg.threshold, 3)} (${msg.security_level || level.value})` : '') +
          '. Speak now.';
        break;
      case 'vad':
        if (!decided) micStatus.textContent = msg.state === 'start' ? 'Hearing speech\u2026' : 'Listening\u2026';
        break;
      case 'score':
        if (Number.isFinite(msg.score)) {
          series[0].push(Number(msg.speech_s ?? series[0].length + 1));
          series[1].push(msg.score);
          series[2].push(Number.isFinite(msg.threshold) ? msg.threshold : null);
          chart.set(series);
        }
        if (Array.isArray(msg.matches)) showMatches(msg.matches);
        if (!decided) {
          micStatus.textContent = `${secs(msg.speech_s)} of speech, score ${num(msg.score, 3)} ` +
            `(${msg.verdict || 'pending'})${msg.reason ? ': ' + msg.reason : ''}`;
        }
        break;
      case 'decision':
        decided = true;
        showDecision(msg);
        micStatus.textContent = 'Decided.';
        if (autostop.checked && stream) stopStream();
        break;
      case 'turn':
        micStatus.textContent = `Another voice took over at ${secs(msg.turn_start_s)} (turn ${msg.turn}).`;
        break;
      case 'error': {
        const text = `${msg.message || msg.error || 'error'}${msg.error_code ? ` (${msg.error_code})` : ''}`;
        if (!started && stream) {
          // The start message was refused: nothing is being listened to.
          stream.abort();
          stream = null;
          setListening(false);
          micStatus.textContent = 'The server refused to start: ' + text;
        }
        notify('The server says: ' + text, 'error');
        break;
      }
      case 'final':
        if (!decided && Array.isArray(msg.decisions)) {
          const last = msg.decisions.filter((d) => d.decision).pop();
          if (last) { decided = true; showDecision(last); }
        }
        break;
      default:
        break;
    }
  }

  async function stopStream() {
    const s = stream;
    if (!s) return;
    stream = null;
    stop.disabled = true;
    micStatus.textContent = decided ? 'Decided; closing the session\u2026' : 'Stopping: deciding on what was heard\u2026';
    const final = await s.stop();
    setListening(false);
    if (!decided) {
      const last = final && Array.isArray(final.decisions) ? final.decisions.filter((d) => d.decision).pop() : null;
      if (last) { decided = true; showDecision(last); } else {
        showDecision({ decision: 'inconclusive', message: 'No decision: too little speech was heard.' });
      }
    }
    micStatus.textContent = final ? `Session ${final.session_id || ''} ended: ${secs(final.speech_s)} of speech.`
      : 'Session ended.';
  }

  start.addEventListener('click', async () => {
    const m = mode.value;
    const uid = userId.value.trim();
    if (m === 'verify' && !uid) {
      userId.focus();
      notify('Enter the user id to verify against.', 'info');
      return;
    }
    resetResult();
    decided = false;
    started = false;
    setListening(true);
    micStatus.textContent = 'Opening the microphone\u2026';
    const s = new LiveStream({
      mode: m, userId: m === 'verify' ? uid : undefined, securityLevel: level.value,
      onEvent, onLevel: (l) => { meter.value = l.level; },
      onEnd: (e) => {
        if (e.unexpected && stream === s) {
          stream = null;
          setListening(false);
          micStatus.textContent = `The stream closed (${e.code}${e.reason ? ': ' + e.reason : ''}).`;
        }
      },
    });
    stream = s;
    try {
      await s.start();
    } catch (e) {
      stream = null;
      setListening(false);
      micStatus.textContent = e.message || String(e);
      notify(e.message || String(e), 'error');
    }
  });
  stop.addEventListener('click', stopStream);

  // ---- by file (REST)
  upload.addEventListener('click', async () => {
    const f = fileIn.files && fileIn.files[0];
    if (!f) { fileIn.focus(); notify('Choose a recording first.', 'info'); return; }
    const m = mode.value;
    const uid = userId.value.trim();
    if (m === 'verify' && !uid) { userId.focus(); notify('Enter the user id to verify against.', 'info'); return; }
    const form = new FormData();
    form.append('audio', f, f.name);
    form.append('security_level', level.value);
    if (m === 'verify') form.append('user_id', uid);
    else form.append('top_k', '5');
    resetResult();
    replace(decision, h('span', { class: 'decision-badge badge-neutral' }, 'Scoring\u2026'));
    upload.disabled = true;
    start.disabled = true;
    try {
      const r = await api.post('/api/v1/voiceprint/' + m, { form });
      let kind;
      if (r.inconclusive) kind = 'inconclusive';
      else if (m === 'verify') kind = r.verified ? 'verified' : 'rejected';
      else kind = r.identified ? 'identified' : 'unknown';
      const top = m === 'identify' && r.matches && r.matches[0] ? r.matches[0] : null;
      showDecision({ decision: kind, user_id: r.user_id || (m === 'verify' ? uid : ''),
        name: top && top.user_id === r.user_id ? top.name : undefined,
        score: r.score ?? (top ? top.score : undefined), threshold: r.threshold, confidence: r.confidence,
        speech_s: r.speech_s, message: r.reason });
      showMatches(m === 'identify' ? r.matches : r.all_scores);
      if (Number.isFinite(r.score ?? (top && top.score))) {
        // One trial: its score as a point, the threshold as a line across the speech it scored.
        const x = Number(r.speech_s) || 1;
        series = [[0, x], [null, r.score ?? top.score], [r.threshold ?? null, r.threshold ?? null]];
        chart.set(series);
      }
    } catch (e) {
      const status = e instanceof api.ApiError ? e.status : 0;
      if (status === 404 && m === 'verify') {
        showDecision({ decision: 'rejected', user_id: uid, message: api.errorText(e) });
      } else if (status === 422) {
        showDecision({ decision: 'inconclusive', message: api.errorText(e) });
      } else {
        delete decision.dataset.decision;
        replace(decision, h('span', { class: 'decision-badge badge-neutral' }, 'Error'));
        detail.textContent = api.errorText(e);
        notify(api.errorText(e), 'error');
      }
    } finally {
      upload.disabled = false;
      start.disabled = false;
    }
  });

  return () => {
    if (stream) stream.abort();
    chart.destroy();
  };
}
