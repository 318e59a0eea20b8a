// The enrollment / verification quality gates (GET /api/v1/stats -> voiceprint_engine.quality_gates)
// and plain-language explanations of how a recording fared against them.
import * as api from './api.js';
import { h, num } from './dom.js';

// docs/api.md: at least 1 s per sample and 3 s per enrollment, 10 s recommended, 1 s to verify.
export const DEFAULT_GATES = {
  enroll_min_sample_speech_s: 1, enroll_min_total_speech_s: 3, enroll_recommended_speech_s: 10,
  verify_min_speech_s: 1, max_clipping_ratio: null, min_snr_db: null, documented: true,
};

export async function loadGates() {
  try {
    const s = await api.get('/api/v1/stats');
    const g = s.statistics && s.statistics.voiceprint_engine && s.statistics.voiceprint_engine.quality_gates;
    if (g && typeof g === 'object') return { ...DEFAULT_GATES, ...g, documented: false };
  } catch { /* use the documented defaults */ }
  return { ...DEFAULT_GATES };
}

const s1 = (v) => `${num(v, 1)} s`;

function line(ok, text) {
  const kind = ok === true ? 'ok' : ok === false ? 'fail' : 'note';
  const mark = ok === true ? '\u2713' : ok === false ? '\u2717' : '!';
  return h('li', { class: 'gate gate-' + kind }, h('span', { class: 'gate-mark', 'aria-hidden': 'true' }, mark),
    h('span', { class: 'sr-only' }, ok === true ? 'passed: ' : ok === false ? 'failed: ' : 'note: '), text);
}

/**
 * A list explaining the verdict of the enrollment gates for `totalS` seconds of speech, split in
 * `perSample` seconds per sample (optional), with the server's warnings and consistency.
 */
export function explainEnrollment(gates, { totalS, perSample, consistency, warnings, failed }) {
  const items = [];
  if (!Number.isFinite(totalS) && failed) {
    items.push(line(null, `Enrolling needs at least ${s1(gates.enroll_min_sample_speech_s)} of speech in ` +
      `each recording and ${s1(gates.enroll_min_total_speech_s)} in all (${s1(gates.enroll_recommended_speech_s)} ` +
      'or more recommended); silence and pauses do not count.'));
  }
  if (Number.isFinite(totalS)) {
    const okMin = totalS >= gates.enroll_min_total_speech_s;
    items.push(line(okMin, `${s1(totalS)} of speech in total; the minimum to enroll is ` +
      `${s1(gates.enroll_min_total_speech_s)}.`));
    if (okMin) {
      const okRec = totalS >= gates.enroll_recommended_speech_s;
      items.push(line(okRec ? true : null, okRec
        ? `At or above the recommended ${s1(gates.enroll_recommended_speech_s)}: verification will be reliable.`
        : `Below the recommended ${s1(gates.enroll_recommended_speech_s)}: verification works, but more speech ` +
          'makes it more reliable. Add samples later to improve it.'));
    }
  }
  if (Array.isArray(perSample) && perSample.length) {
    const short = perSample.filter((x) => x < gates.enroll_min_sample_speech_s);
    items.push(line(short.length === 0, `Speech per sample: ${perSample.map((x) => num(x, 1)).join(', ')} s ` +
      `(each needs at least ${s1(gates.enroll_min_sample_speech_s)}).`));
  }
  if (Array.isArray(consistency) && consistency.length > 1) {
    const min = Math.min(...consistency);
    items.push(line(min >= 0.5 ? true : null, `Samples agree with each other: lowest similarity ${num(min, 2)}` +
      (min < 0.5 ? ' \u2014 low: a sample may be another speaker or a poor recording.' : '.')));
  }
  if (failed && gates.max_clipping_ratio !== null && gates.max_clipping_ratio !== undefined) {
    items.push(line(null, `Recordings must not be clipped (at most ${num(gates.max_clipping_ratio * 100, 1)} % ` +
      `of samples at full scale)` + (gates.min_snr_db !== null && gates.min_snr_db !== undefined
      ? ` and not too noisy (SNR at least ${num(gates.min_snr_db, 1)} dB).` : '.')));
  }
  for (const w of warnings || []) items.push(line(null, String(w)));
  const list = h('ul', { class: 'gates' }, items);
  if (gates.documented) {
    return h('div', null, list, h('p', { class: 'subtle' },
      'Gates shown are the documented defaults: this server does not report its own.'));
  }
  return list;
}
