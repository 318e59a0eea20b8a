// Enroll a voice: from the microphone over the WebSocket (mode "enroll"), or by uploading files
// (multipart POST /api/v1/voiceprint/register).
import * as api from './api.js';
import { h, replace, num } from './dom.js';
import { card, field, markReady, notify, pageRoot } from './ui.js';
import { loadGates, explainEnrollment, DEFAULT_GATES } from './gates.js';
import { LiveStream } from './stream.js';

const USER_ID_RE = /^(?!\.)[A-Za-z0-9_.@-]{1,128}$/;
const LIVE_ENROLL_S = 12; // live.enroll_speech_s: the server enrolls by itself after this much speech

export function mount(view, ctx) {
  const root = pageRoot('enroll', 'Enroll a voice',
    h('p', { class: 'subtle' }, 'Record a few sentences from the microphone, or upload recordings.'));
  let gates = { ...DEFAULT_GATES };

  const userId = h('input', { id: 'enroll-user-id', name: 'user_id', autocomplete: 'off', spellcheck: 'false',
    maxlength: 128, value: ctx.query.get('user_id') || '' });
  const name = h('input', { id: 'enroll-name', name: 'name', autocomplete: 'off', maxlength: 1024 });
  const who = card('Who is speaking', h('div', { class: 'grid two tight' },
    field('User id', userId, 'Letters, digits and _ - . @ (up to 128). Needed for the microphone; ' +
      'left empty, an upload gets a generated id. An existing id gets the new samples added.'),
    field('Display name', name, 'Required for uploads.')));

  // -- microphone
  const record = h('button', { type: 'button', id: 'enroll-record', class: 'primary' }, 'Start recording');
  const stop = h('button', { type: 'button', id: 'enroll-stop', disabled: true }, 'Stop');
  const meter = h('meter', { id: 'enroll-meter', min: 0, max: 1, low: 0.2, high: 0.9, optimum: 0.5, value: 0 });
  const speech = h('meter', { id: 'enroll-speech', min: 0, max: LIVE_ENROLL_S, value: 0 });
  const speechText = h('p', { class: 'meter-text', id: 'enroll-speech-text' }, '0.0 s of speech');
  const marks = h('div', { class: 'meter-marks', 'aria-hidden': 'true' });
  const micStatus = h('p', { class: 'subtle', id: 'enroll-mic-status' }, 'Not recording.');
  const micCard = card('Record from the microphone', h('div', null,
    h('p', null, 'Speak naturally \u2014 read something aloud, count, describe your day. Voxgate keeps only the ' +
      'speech: pauses do not count. It enrolls by itself after about ', `${LIVE_ENROLL_S} s of speech`,
      ', or when you press Stop once the minimum is reached.'),
    h('div', { class: 'actions' }, record, stop),
    h('div', { class: 'meter-row' }, h('label', { for: 'enroll-meter' }, 'Input level'), meter),
    h('div', { class: 'meter-row' }, h('label', { for: 'enroll-speech' }, 'Speech collected'),
      h('div', { class: 'meter-stack' }, speech, marks)),
    speechText, micStatus));

  // -- upload
  const file = h('input', { id: 'enroll-file', type: 'file', multiple: true,
    accept: 'audio/*,.wav,.flac,.mp3,.m4a,.aac,.ogg,.opus' });
  const upload = h('button', { type: 'button', id: 'enroll-upload', class: 'primary' }, 'Upload and enroll');
  const upCard = card('Upload recordings', h('div', null,
    field('Recordings (1\u201310 files)', file, 'WAV, FLAC, MP3, M4A, Ogg: any rate, mono or stereo. ' +
      'Each file is one sample; they are averaged.'),
    h('div', { class: 'actions' }, upload)));

  const result = h('div', { id: 'enroll-result', role: 'status', class: 'result', 'aria-live': 'polite' },
    h('p', { class: 'subtle' }, 'Record or upload to enroll; the outcome and how the speech fared against the ' +
      'quality gates show here.'));
  root.append(who, h('div', { class: 'grid two' }, micCard,
    h('div', { class: 'stack' }, upCard, card('Result', result))));
  view.append(root);

  function drawMarks() {
    replace(marks);
    for (const [v, label] of [[gates.enroll_min_total_speech_s, 'min'],
      [gates.enroll_recommended_speech_s, 'recommended']]) {
      if (!(v > 0) || v > LIVE_ENROLL_S) continue;
      const m = h('span', { class: 'mark' }, `${label} ${num(v, 0)} s`);
      m.style.left = `${(100 * v) / LIVE_ENROLL_S}%`;
      marks.append(m);
    }
    speech.low = gates.enroll_min_total_speech_s;
    speech.high = Math.min(LIVE_ENROLL_S, gates.enroll_recommended_speech_s);
    speech.optimum = LIVE_ENROLL_S;
  }
  drawMarks();
  loadGates().then((g) => { gates = g; drawMarks(); markReady(root); });

  function showResult(outcome, title, explanation) {
    result.dataset.outcome = outcome;
    replace(result,
      h('p', { class: ['result-title', outcome === 'enrolled' ? 'good' : 'bad'] }, title),
      explanation || null);
    result.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  function checkUserId(required) {
    const v = userId.value.trim();
    if (!v && !required) return '';
    if (!USER_ID_RE.test(v)) {
      userId.setAttribute('aria-invalid', 'true');
      userId.focus();
      throw new Error(v ? 'The user id may only contain letters, digits and _ - . @ (up to 128, not starting with .).'
        : 'Enter a user id to enroll from the microphone.');
    }
    userId.removeAttribute('aria-invalid');
    return v;
  }

  // ---- microphone flow
  let stream = null;
  let segments = 0; // seconds of finished speech segments
  let speechStart = null; // time_s of the speech segment in progress
  let outcome = null;
  let ticker = null;

  function speechSoFar() {
    const running = speechStart !== null && stream ? Math.max(0, stream.sentSeconds - speechStart - 0.1) : 0;
    return segments + running;
  }
  function updateSpeech() {
    const s = Math.min(LIVE_ENROLL_S, speechSoFar());
    speech.value = s;
    const need = gates.enroll_min_total_speech_s;
    speechText.textContent = `${num(speechSoFar(), 1)} s of speech` + (s < need
      ? ` \u2014 ${num(need - s, 1)} s more to reach the minimum`
      : s < gates.enroll_recommended_speech_s ? ' \u2014 minimum reached; keep going for the recommended amount'
        : ' \u2014 enough');
  }

  function setRecording(on) {
    record.disabled = on;
    stop.disabled = !on;
    upload.disabled = on;
    userId.disabled = on;
    name.disabled = on;
  }

  async function finish(final) {
    clearInterval(ticker);
    ticker = null;
    meter.value = 0;
    setRecording(false);
    stream = null;
    if (!outcome) {
      const total = final && Number.isFinite(final.speech_s) ? final.speech_s : speechSoFar();
      outcome = 'failed';
      showResult('failed', 'Not enrolled: the stream ended before an enrollment was made.',
        explainEnrollment(gates, { totalS: total, failed: true }));
    }
    micStatus.textContent = 'Not recording.';
  }

  async function onEvent(msg, uid, wantedName) {
    switch (msg.type) {
      case 'started':
        micStatus.textContent = `Recording at ${num(msg.sample_rate)} Hz \u2014 speak now.`;
        break;
      case 'vad':
        if (msg.state === 'start') speechStart = Number(msg.time_s) || 0;
        else if (msg.state === 'end') {
          segments += Math.max(0, Number(msg.end_s) - Number(msg.start_s));
          speechStart = null;
        }
        updateSpeech();
        break;
      case 'enrolled': {
        outcome = 'enrolled';
        const total = Number.isFinite(msg.speech_s) ? msg.speech_s : speechSoFar();
        const created = msg.decision !== 'samples_added';
        clearInterval(ticker);
        ticker = null;
        segments = Math.max(segments, total);
        speechStart = null;
        updateSpeech();
        showResult('enrolled',
          `${created ? 'Enrolled' : 'Samples added to'} \u201c${uid}\u201d from the microphone` +
          (msg.message ? ` (${msg.message})` : '') + '.',
          h('div', null, explainEnrollment(gates, { totalS: total }),
            h('p', null, h('a', { href: '#/voiceprints/' + encodeURIComponent(uid) }, 'Open the voiceprint'), ' \u00b7 ',
              h('a', { href: '#/verify?mode=verify&user_id=' + encodeURIComponent(uid) }, 'Try verifying it'))));
        notify(`Voiceprint ${uid} ${created ? 'enrolled' : 'updated'}.`, 'success');
        micStatus.textContent = 'Enrolled. Finishing the session\u2026';
        if (stream) stream.stop().then(finish);
        if (wantedName) checkName(uid, wantedName);
        break;
      }
      case 'error':
        if (outcome) break;
        outcome = 'failed';
        showResult('failed', `Not enrolled: ${msg.message || msg.error || 'the server refused the recording'}` +
          (msg.error_code ? ` (${msg.error_code})` : ''),
          explainEnrollment(gates, { totalS: Number.isFinite(msg.speech_s) ? msg.speech_s : speechSoFar(), failed: true }));
        if (stream) stream.stop().then(finish);
        break;
      default:
        break;
    }
  }

  // The stream's start message carries the name; a server that ignores it stores the id as name.
  async function checkName(uid, wanted) {
    try {
      const v = await api.get('/api/v1/voiceprint/' + encodeURIComponent(uid));
      if (v.name && v.name !== wanted) {
        result.append(h('p', { class: 'subtle' }, `The voiceprint is named \u201c${v.name}\u201d: this server ` +
          'does not take a name over the stream. Upload a file with the name to change it.'));
      }
    } catch { /* the result already says enrolled */ }
  }

  record.addEventListener('click', async () => {
    let uid;
    try { uid = checkUserId(true); } catch (e) { showResult('failed', e.message); return; }
    const wantedName = name.value.trim();
    outcome = null;
    segments = 0;
    speechStart = null;
    delete result.dataset.outcome;
    replace(result, h('p', { class: 'subtle' }, 'Recording\u2026'));
    updateSpeech();
    setRecording(true);
    micStatus.textContent = 'Opening the microphone\u2026';
    stream = new LiveStream({
      mode: 'enroll', userId: uid, name: wantedName || undefined,
      onEvent: (m) => onEvent(m, uid, wantedName),
      onLevel: (l) => { meter.value = l.level; },
      onEnd: (e) => { if (e.unexpected) finish(e.final); },
    });
    try {
      await stream.start();
      ticker = setInterval(updateSpeech, 250);
    } catch (e) {
      stream = null;
      setRecording(false);
      micStatus.textContent = 'Not recording.';
      outcome = 'failed';
      showResult('failed', e.message || String(e));
    }
  });

  stop.addEventListener('click', async () => {
    if (!stream) return;
    stop.disabled = true;
    micStatus.textContent = 'Stopping: the server enrolls what it heard\u2026';
    const s = stream;
    const final = await s.stop();
    await finish(final);
  });

  // ---- upload flow
  upload.addEventListener('click', async () => {
    let uid;
    try { uid = checkUserId(false); } catch (e) { showResult('failed', e.message); return; }
    const files = Array.from(file.files || []);
    if (!files.length) { showResult('failed', 'Choose one or more recordings to upload.'); file.focus(); return; }
    if (files.length > 10) { showResult('failed', 'At most 10 recordings per enrollment.'); return; }
    if (!name.value.trim()) { showResult('failed', 'Enter a display name for the voice.'); name.focus(); return; }
    const form = new FormData();
    if (uid) form.append('user_id', uid);
    form.append('name', name.value.trim());
    for (const f of files) form.append('audio', f, f.name);
    upload.disabled = true;
    record.disabled = true;
    delete result.dataset.outcome;
    replace(result, h('p', { class: 'subtle' }, `Uploading ${files.length} file(s)\u2026`));
    try {
      const r = await api.post('/api/v1/voiceprint/register', { form });
      const q = r.quality || {};
      showResult('enrolled',
        `${r.created ? 'Enrolled' : 'Samples added to'} \u201c${r.user_id}\u201d: ${num(r.samples_used)} sample(s) ` +
        `used, ${num(r.total_samples)} in total.`,
        h('div', null,
          explainEnrollment(gates, { totalS: q.total_speech_s ?? r.speech_s, perSample: q.sample_speech_s,
            consistency: q.consistency, warnings: r.warnings }),
          h('p', null, h('a', { href: '#/voiceprints/' + encodeURIComponent(r.user_id) }, 'Open the voiceprint'), ' \u00b7 ',
            h('a', { href: '#/verify?mode=verify&user_id=' + encodeURIComponent(r.user_id) }, 'Try verifying it'))));
      notify(`Voiceprint ${r.user_id} enrolled.`, 'success');
      if (!userId.value.trim()) userId.value = r.user_id;
    } catch (e) {
      showResult('failed', `Not enrolled: ${api.errorText(e)}`,
        e instanceof api.ApiError && (e.status === 422 || e.status === 413 || e.status === 415 || e.status === 400)
          ? explainEnrollment(gates, { failed: true }) : null);
    } finally {
      upload.disabled = false;
      record.disabled = false;
    }
  });

  return () => {
    clearInterval(ticker);
    if (stream) stream.abort();
  };
}
