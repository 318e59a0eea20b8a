// Broadcasts (admin): start an RTMP push (presenter text or a live session), list them, and one
// broadcast's page with a live preview, say, stop, drift and frame counters.
import * as api from './api.js';
import { h, replace, num, duration, time, str, bytes, dash } from './dom.js';
import { badge, card, emptyRow, field, kvList, markReady, notify, notifyError, pageRoot, poller, select,
  table } from './ui.js';
import { lineChart, COLOURS } from './chart.js';

export function mount(view, ctx) {
  return ctx.params.length ? mountBroadcast(view, ctx, ctx.params[0]) : mountList(view, ctx);
}

function sourceText(src) {
  if (!src) return dash;
  if (typeof src === 'string') return src;
  if (src.type === 'session') return `session ${src.session_id || ''}`;
  if (src.type === 'mix') return `mix of ${(src.session_ids || []).length} sessions`;
  return src.type || str(src);
}

function mountList(view, ctx) {
  const root = pageRoot('broadcasts', 'Broadcasts',
    h('p', { class: 'subtle' }, 'Push a synthetic presenter or a live call to an RTMP server (nginx-rtmp, SRS, ' +
      'YouTube, Bilibili, OBS).'));

  const url = h('input', { id: 'bc-url', type: 'url', required: true, placeholder: 'rtmp://live.example/app',
    autocomplete: 'off', spellcheck: 'false' });
  const keyEnv = h('input', { id: 'bc-key-env', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'VOXGATE_RTMP_KEY_YT', pattern: 'VOXGATE_RTMP_KEY[A-Z0-9_]*' });
  const preset = select('bc-preset', [['540p', '540p \u2014 960\u00d7540, 25 fps, 2 Mbit/s'],
    ['720p', '720p \u2014 1280\u00d7720, 30 fps, 3 Mbit/s'], ['mobile', 'mobile \u2014 640\u00d7360, 15 fps, 1 Mbit/s']], '540p');
  const source = select('bc-source', [['presenter', 'Presenter: speaks text'], ['session', 'A live session']], 'presenter');
  const sessionSel = h('select', { id: 'bc-session' }, h('option', { value: '' }, 'Loading sessions\u2026'));
  const name = h('input', { id: 'bc-name', autocomplete: 'off', maxlength: 200, placeholder: 'Ada' });
  const say = h('textarea', { id: 'bc-say', rows: 3, placeholder: 'Good evening. Here is the news.' });
  const startBtn = h('button', { type: 'submit', id: 'bc-start', class: 'primary' }, 'Start broadcast');
  const formStatus = h('p', { class: 'subtle', id: 'bc-form-status', 'aria-live': 'polite' });
  const sessionField = field('Session', sessionSel, 'Its cleaned audio goes on air; the card names the identified speaker.');
  const sayField = field('Presenter text (optional)', say, 'Spoken first; say more from the broadcast\u2019s page.');

  const form = h('form', { id: 'bc-form', class: 'bc-form', novalidate: true },
    h('div', { class: 'grid two tight' },
      field('Destination URL', url, 'rtmp:// or rtmps://. Put the stream key in an environment variable instead ' +
        'of the URL when you can.'),
      field('Stream key variable (optional)', keyEnv, 'The name of a server environment variable starting with ' +
        'VOXGATE_RTMP_KEY. The key itself never leaves the server.'),
      field('Source', source),
      field('Preset', preset),
      sessionField,
      field('Name on the card', name)),
    sayField,
    h('div', { class: 'actions' }, startBtn),
    formStatus);

  const { table: tbl, tbody } = table('bc-table', 'Broadcasts',
    ['Broadcast', 'State', 'Name', 'Source', 'Preset', 'Destination', 'On air', 'Frames sent', 'A/V drift']);
  root.append(card('Broadcasts', tbl), card('Start a broadcast', form));
  view.append(root);

  function syncSource() {
    const isSession = source.value === 'session';
    sessionField.hidden = !isSession;
    sessionSel.disabled = !isSession;
  }
  source.addEventListener('change', syncSource);
  syncSource();

  async function loadSessions() {
    try {
      const r = await api.get('/api/v1/sessions');
      const active = (r.sessions || []).filter((s) => s.state !== 'ended');
      const keep = sessionSel.value;
      replace(sessionSel, active.length ? null : h('option', { value: '' }, 'No live session'),
        active.map((s) => h('option', { value: s.session_id || s.id },
          `${s.session_id || s.id} (${s.kind === 'sip' ? 'SIP call' : 'stream'}, ${duration(s.duration_s)})`)));
      if (keep) sessionSel.value = keep;
    } catch { /* the list refresh reports errors */ }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const u = url.value.trim();
    if (!/^rtmps?:\/\/\S+/i.test(u)) {
      url.setAttribute('aria-invalid', 'true');
      formStatus.textContent = 'Enter an rtmp:// or rtmps:// URL.';
      url.focus();
      return;
    }
    url.removeAttribute('aria-invalid');
    const envName = keyEnv.value.trim();
    if (envName && !/^VOXGATE_RTMP_KEY[A-Za-z0-9_]*$/.test(envName)) {
      keyEnv.setAttribute('aria-invalid', 'true');
      formStatus.textContent = 'The key variable must start with VOXGATE_RTMP_KEY.';
      keyEnv.focus();
      return;
    }
    keyEnv.removeAttribute('aria-invalid');
    const body = { url: u, preset: preset.value, video: 'presenter' };
    if (envName) body.stream_key_env = envName;
    if (name.value.trim()) body.name = name.value.trim();
    if (say.value.trim()) body.say = say.value.trim();
    if (source.value === 'session') {
      if (!sessionSel.value) { formStatus.textContent = 'Choose a live session.'; sessionSel.focus(); return; }
      body.source = { type: 'session', session_id: sessionSel.value };
    } else {
      body.source = { type: 'presenter' };
    }
    startBtn.disabled = true;
    formStatus.textContent = 'Connecting to the RTMP server\u2026';
    try {
      const r = await api.post('/api/v1/broadcasts', { json: body });
      const b = r.broadcast || r;
      notify(`Broadcast ${b.id} is ${b.state || 'live'}.`, 'success');
      formStatus.textContent = '';
      location.hash = '#/broadcasts/' + encodeURIComponent(b.id);
    } catch (err) {
      formStatus.textContent = 'Not started: ' + api.errorText(err);
      notifyError(err, 'The broadcast did not start');
    } finally {
      startBtn.disabled = false;
    }
  });

  async function refresh() {
    const r = await api.get('/api/v1/broadcasts');
    const list = r.broadcasts || [];
    const rows = list.map((b) => h('tr', { dataset: { broadcastId: b.id, state: b.state || '' } },
      h('td', null, h('a', { href: '#/broadcasts/' + encodeURIComponent(b.id) }, h('code', null, b.id))),
      h('td', null, badge(b.state || 'unknown')),
      h('td', null, b.presenter_name || b.name || dash),
      h('td', null, sourceText(b.source)),
      h('td', null, str(b.preset)),
      h('td', null, h('code', { class: 'wrap' }, str(b.url))),
      h('td', { class: 'num' }, duration(b.stream_time_s)),
      h('td', { class: 'num' }, num(b.frames_sent)),
      h('td', { class: 'num' }, Number.isFinite(b.av_drift_ms) ? `${num(b.av_drift_ms, 0)} ms` : dash)));
    if (rows.length) tbody.replaceChildren(...rows);
    else emptyRow(tbody, 9, 'No broadcast yet.');
    if (source.value === 'session' || sessionSel.options.length <= 1) await loadSessions();
    markReady(root);
  }
  const p = poller(refresh, 2000);
  return () => p.stop();
}

function mountBroadcast(view, ctx, id) {
  const root = pageRoot('broadcast', 'Broadcast',
    h('a', { href: '#/broadcasts', class: 'back' }, '\u2190 All broadcasts'));
  const img = h('img', { id: 'bc-preview', class: 'preview', alt: 'Live preview of the broadcast picture',
    width: 960, height: 540, dataset: { frame: '0' } });
  img.hidden = true;
  const placeholder = h('p', { class: 'preview-placeholder', id: 'bc-preview-note' }, 'Waiting for the first picture\u2026');
  const sayText = h('textarea', { id: 'bc-say-text', rows: 2, maxlength: 4000, placeholder: 'Text for the presenter to say' });
  const sayBtn = h('button', { type: 'button', id: 'bc-say-send', class: 'primary' }, 'Say');
  const stopBtn = h('button', { type: 'button', id: 'bc-stop', class: 'danger' }, 'Stop broadcast');
  const stats = h('div', { id: 'bc-stats' }, 'Loading\u2026');
  const driftBox = h('div', { class: 'chart', id: 'bc-drift', role: 'img', 'aria-label': 'A/V drift over time' });

  root.append(
    h('div', { class: 'grid preview-grid' },
      card('Preview', h('div', { class: 'preview-box' }, img, placeholder,
        h('p', { class: 'subtle', id: 'bc-preview-meta', 'aria-live': 'off' }))),
      card('Control', h('div', null,
        field('Say', sayText, 'Queued after what the presenter is saying now.'),
        h('div', { class: 'actions' }, sayBtn),
        h('hr'),
        h('div', { class: 'actions' }, stopBtn)))),
    card('Counters', stats),
    card('A/V drift', driftBox));
  view.append(root);

  const drift = lineChart(driftBox, {
    xLabel: 'stream time (s)', yLabel: 'ms', height: 180, emptyText: 'No figures yet.', xFmt: (v) => String(Math.round(v * 10) / 10),
    series: [{ label: 'A/V drift (ms)', stroke: COLOURS.accent, digits: 1 },
      { label: 'written drift (ms)', stroke: COLOURS.second, digits: 1 }],
  });
  const hist = [[], [], []];
  let ended = false;
  let lastUrl = null;
  let frames = 0;
  let previewBusy = false;
  let previewMissing = 0;
  let current = null;

  function renderStats(b) {
    root.querySelector('#page-title').textContent = `Broadcast ${b.id}`;
    replace(stats, kvList([
      ['State', badge(b.state || 'unknown')],
      ['Destination', h('code', { class: 'wrap' }, str(b.url))],
      ['Preset', `${str(b.preset)}${b.width ? ` \u2014 ${b.width}\u00d7${b.height} @ ${b.fps} fps` : ''}`],
      ['Source', sourceText(b.source)],
      ['Presenter', b.presenter_name || dash],
      ['Started', time(b.created_at)],
      ['On air', duration(b.stream_time_s)],
      ['Frames sent', num(b.frames_sent)],
      ['Frames dropped', num(b.frames_dropped)],
      ['Frames repeated', num(b.frames_repeated)],
      ['Queue drops', num(b.queue_drops)],
      ['A/V drift', Number.isFinite(b.av_drift_ms) ? `${num(b.av_drift_ms, 1)} ms` : dash],
      ['Written A/V drift', Number.isFinite(b.written_av_drift_ms) ? `${num(b.written_av_drift_ms, 1)} ms` : dash],
      ['Frame rate', Number.isFinite(b.actual_fps) ? `${num(b.actual_fps, 1)} fps` : dash],
      ['Bitrate', Number.isFinite(b.bitrate_kbps) ? `${num(b.bitrate_kbps, 0)} kbit/s` : dash],
      ['Sent', bytes(b.bytes_sent)],
      ['Reconnects', num(b.reconnects)],
      ['Live inputs', b.live_inputs === undefined ? undefined : num(b.live_inputs)],
      ['Live underruns', b.live_underruns === undefined ? undefined : num(b.live_underruns)],
      ['Error', b.error ? h('span', { class: 'form-error' }, b.error) : undefined],
    ], 'kv-cols'));
  }

  async function refreshPreview() {
    if (previewBusy || !current || !(Number(current.frames_sent) > 0)) return;
    previewBusy = true;
    try {
      const res = await api.get(`/api/v1/broadcasts/${encodeURIComponent(id)}/preview`, { raw: true });
      const blob = await res.blob();
      const objUrl = URL.createObjectURL(blob);
      const loaded = await new Promise((resolve) => {
        img.onload = () => resolve(true);
        img.onerror = () => resolve(false);
        img.src = objUrl;
      });
      if (!loaded) {
        URL.revokeObjectURL(objUrl);
        if (lastUrl) img.src = lastUrl;
        else placeholder.textContent = 'The preview picture could not be shown.';
        return;
      }
      if (lastUrl) URL.revokeObjectURL(lastUrl);
      lastUrl = objUrl;
      frames += 1;
      img.dataset.frame = String(frames);
      img.hidden = false;
      placeholder.hidden = true;
      previewMissing = 0;
      document.getElementById('bc-preview-meta').textContent =
        `Picture ${frames}, fetched ${new Date().toLocaleTimeString()}.`;
    } catch (e) {
      if (e instanceof api.ApiError && e.status === 404) {
        previewMissing += 1;
        if (e.message && /no route/i.test(e.message)) {
          previewMissing = Infinity; // an older server: stop asking
          placeholder.textContent = 'This server has no preview endpoint.';
        } else {
          placeholder.textContent = 'Waiting for the first picture\u2026';
        }
      } else if (e instanceof api.ApiError) {
        placeholder.textContent = 'Preview: ' + api.errorText(e);
      }
    } finally {
      previewBusy = false;
    }
  }

  async function refresh() {
    let r;
    try {
      r = await api.get('/api/v1/broadcasts/' + encodeURIComponent(id));
    } catch (e) {
      if (e instanceof api.ApiError && e.status === 404) {
        replace(stats, h('p', { class: 'form-error', role: 'alert' }, 'This broadcast is not known (any more).'));
        ended = true;
        sayBtn.disabled = true;
        stopBtn.disabled = true;
        markReady(root);
        return;
      }
      throw e;
    }
    const b = r.broadcast || r;
    current = b;
    renderStats(b);
    if (Number.isFinite(b.stream_time_s)) {
      hist[0].push(b.stream_time_s);
      hist[1].push(Number.isFinite(b.av_drift_ms) ? b.av_drift_ms : null);
      hist[2].push(Number.isFinite(b.written_av_drift_ms) ? b.written_av_drift_ms : null);
      if (hist[0].length > 300) hist.forEach((a) => a.shift());
      drift.set(hist);
    }
    ended = b.state === 'stopped' || b.state === 'failed';
    sayBtn.disabled = ended;
    stopBtn.disabled = ended;
    if (ended) placeholder.textContent = 'The broadcast has ended.';
    markReady(root);
  }

  const p = poller(async () => {
    if (!ended) await refresh();
  }, 1500);
  // The preview has its own cadence; the server re-encodes at most once a second.
  const pv = poller(async () => {
    if (!ended && previewMissing < 120) await refreshPreview();
  }, 1200, () => {});

  sayBtn.addEventListener('click', async () => {
    const text = sayText.value.trim();
    if (!text) { sayText.focus(); return; }
    sayBtn.disabled = true;
    try {
      const r = await api.post(`/api/v1/broadcasts/${encodeURIComponent(id)}/say`, { json: { text } });
      const at = (r.say && r.say.starts_at_s) ?? r.starts_at_s;
      notify(Number.isFinite(at)
        ? `Queued: the presenter says it at ${num(at, 1)} s on the stream clock.` : 'Queued.', 'success');
      sayText.value = '';
    } catch (e) {
      notifyError(e, 'Could not queue the text');
    } finally {
      sayBtn.disabled = ended;
    }
  });

  stopBtn.addEventListener('click', async () => {
    stopBtn.disabled = true;
    stopBtn.textContent = 'Stopping\u2026';
    try {
      const r = await api.del('/api/v1/broadcasts/' + encodeURIComponent(id));
      const b = r.broadcast || r;
      if (b && b.id) { current = b; renderStats(b); }
      ended = true;
      sayBtn.disabled = true;
      placeholder.textContent = 'The broadcast has ended.';
      notify(`Broadcast ${id} stopped: ${num(b.frames_sent)} frames sent.`, 'success');
      await refresh().catch(() => {});
    } catch (e) {
      notifyError(e, 'Could not stop the broadcast');
      stopBtn.disabled = false;
    } finally {
      stopBtn.textContent = 'Stop broadcast';
    }
  });

  return () => {
    p.stop();
    pv.stop();
    drift.destroy();
    if (lastUrl) URL.revokeObjectURL(lastUrl);
  };
}
