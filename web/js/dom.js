// A tiny DOM helper. Everything goes in through createElement / textContent / setAttribute:
// user-supplied text can never become markup.

/**
 * h('button', {class: 'primary', onclick: fn, dataset: {id: 'x'}}, 'Label', child, [more])
 * Attribute values: functions on `on*` keys become listeners; true/false toggle boolean
 * attributes; null/undefined are skipped; everything else is set as a string attribute.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') {
        el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : String(value);
      } else if (key === 'dataset') {
        for (const [k, v] of Object.entries(value)) {
          if (v !== null && v !== undefined) el.dataset[k] = String(v);
        }
      } else if (key === 'text') {
        el.textContent = String(value);
      } else if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2), value);
      } else if (key === 'value' && 'value' in el) {
        el.value = String(value);
      } else if (value === true) {
        el.setAttribute(key, '');
      } else {
        if (key === 'style' || key.startsWith('on')) throw new Error('h(): ' + key + ' is not allowed');
        el.setAttribute(key, String(value));
      }
    }
  }
  append(el, children);
  return el;
}

/** Appends strings (as text), nodes and (nested) arrays; skips null/undefined/false. */
export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function $(sel, root = document) {
  return root.querySelector(sel);
}

// ---- formatting -------------------------------------------------------------------------------

const DASH = '\u2014';

export function num(v, digits = 0) {
  if (v === null || v === undefined || v === '' || !Number.isFinite(Number(v))) return DASH;
  return Number(v).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function pct(v, digits = 1) {
  if (v === null || v === undefined || !Number.isFinite(Number(v))) return DASH;
  return num(Number(v) * 100, digits) + ' %';
}

export function secs(v, digits = 1) {
  if (v === null || v === undefined || !Number.isFinite(Number(v))) return DASH;
  return num(v, digits) + ' s';
}

export function duration(s) {
  if (s === null || s === undefined || !Number.isFinite(Number(s))) return DASH;
  s = Math.max(0, Math.round(Number(s)));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const two = (n) => String(n).padStart(2, '0');
  return hh > 0 ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

export function bytes(v) {
  if (!Number.isFinite(Number(v))) return DASH;
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let n = Number(v);
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return num(n, i === 0 ? 0 : 1) + ' ' + units[i];
}

/** ISO-8601 string or epoch milliseconds -> local "2026-01-05 10:12:26". */
export function time(v) {
  if (v === null || v === undefined || v === '') return DASH;
  const d = typeof v === 'number' ? new Date(v) : new Date(String(v));
  if (Number.isNaN(d.getTime())) return String(v);
  const two = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function str(v) {
  if (v === null || v === undefined || v === '') return DASH;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export const dash = DASH;
