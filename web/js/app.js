// Boot, sign-in state, navigation and the hash router.
import * as api from './api.js';
import { h, append, replace } from './dom.js';
import { clearNotices, notify, pageRoot, markReady } from './ui.js';
import { renderSignin } from './page-signin.js';

// Pages: hash -> module. `admin` pages get no nav link for a client key and show #forbidden.
const ROUTES = {
  overview: { title: 'Overview', load: () => import('./page-overview.js') },
  voiceprints: { title: 'Voiceprints', load: () => import('./page-voiceprints.js'),
    admin: (params) => params.length === 0 },
  enroll: { title: 'Enroll', load: () => import('./page-enroll.js') },
  verify: { title: 'Verify & identify', load: () => import('./page-verify.js') },
  sessions: { title: 'Live sessions', load: () => import('./page-sessions.js') },
  broadcasts: { title: 'Broadcasts', load: () => import('./page-broadcasts.js'), admin: () => true },
  cluster: { title: 'Cluster', load: () => import('./page-cluster.js') },
  audit: { title: 'Audit log', load: () => import('./page-audit.js'), admin: () => true },
};
const NAV = [
  ['overview', 'Overview'], ['voiceprints', 'Voiceprints'], ['enroll', 'Enroll'],
  ['verify', 'Verify'], ['sessions', 'Sessions'], ['broadcasts', 'Broadcasts'],
  ['cluster', 'Cluster'], ['audit', 'Audit'],
];

let session = null; // {role, authEnabled, keyName}
let current = null; // cleanup of the mounted page
let routeSeq = 0;

const view = () => document.getElementById('view');

function parseHash() {
  let raw = location.hash.replace(/^#/, '');
  if (!raw.startsWith('/')) return null;
  raw = raw.slice(1);
  const q = raw.indexOf('?');
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  const path = (q >= 0 ? raw.slice(0, q) : raw).split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  return { name: path[0] || '', params: path.slice(1), query };
}

function unmount() {
  if (current) {
    try { current(); } catch (e) { /* a page's cleanup must not block navigation */ }
    current = null;
  }
}

function renderNav() {
  const nav = document.getElementById('nav');
  const ul = h('ul');
  for (const [name, label] of NAV) {
    const r = ROUTES[name];
    if (r.admin && r.admin([]) && session.role !== 'admin') continue; // no link at all
    ul.append(h('li', null, h('a', { href: '#/' + name, dataset: { nav: name } }, label)));
  }
  replace(nav, ul);
  nav.hidden = false;
  document.getElementById('nav-toggle').hidden = false;
  document.getElementById('who').hidden = false;
  const who = document.getElementById('who-role');
  who.textContent = session.authEnabled
    ? `${session.role === 'admin' ? 'Admin' : 'Client'} key${session.keyName ? ': ' + session.keyName : ''}`
    : 'Dev mode (no key)';
  document.getElementById('signout').hidden = !session.authEnabled;
  document.getElementById('dev-banner').hidden = session.authEnabled;
}

function highlightNav(name) {
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.nav === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function setMenu(open) {
  const nav = document.getElementById('nav');
  const btn = document.getElementById('nav-toggle');
  nav.classList.toggle('open', open);
  btn.setAttribute('aria-expanded', String(open));
}

function simplePage(name, title, text, extra) {
  const root = pageRoot(name, title);
  append(root, [h('p', { class: 'lead' }, text), extra]);
  markReady(root);
  return root;
}

async function route() {
  const seq = ++routeSeq;
  setMenu(false);
  if (!session) { showSignin(); return; }
  const loc = parseHash();
  if (!loc || !loc.name) { location.replace('#/overview'); return; }
  const r = ROUTES[loc.name];
  unmount();
  highlightNav(loc.name);
  const v = view();
  if (!r) {
    document.title = 'Not found \u00b7 Voxgate';
    replace(v, simplePage('notfound', 'Page not found', 'There is no page at this address.',
      h('p', null, h('a', { href: '#/overview' }, 'Go to the overview'))));
    return;
  }
  if (r.admin && r.admin(loc.params) && session.role !== 'admin') {
    document.title = 'Forbidden \u00b7 Voxgate';
    const root = simplePage('forbidden', 'Admin only',
      'This page needs an admin key: the key you signed in with is a client key (403). ' +
      'Sign out and sign in with an admin key to open it.',
      h('p', null, h('a', { href: '#/overview' }, 'Back to the overview')));
    root.id = 'forbidden';
    replace(v, root);
    return;
  }
  let mod;
  try {
    mod = await r.load();
  } catch (e) {
    if (seq !== routeSeq) return;
    replace(v, simplePage('error', 'Could not load this page', String(e && e.message ? e.message : e)));
    return;
  }
  if (seq !== routeSeq) return;
  document.title = `${r.title} \u00b7 Voxgate`;
  v.replaceChildren();
  const ctx = { params: loc.params, query: loc.query, role: session.role, isAdmin: session.role === 'admin',
    authEnabled: session.authEnabled };
  try {
    current = mod.mount(v, ctx) || null;
  } catch (e) {
    replace(v, simplePage('error', 'This page failed', String(e && e.message ? e.message : e)));
  }
  const title = document.getElementById('page-title');
  if (title && document.activeElement && !v.contains(document.activeElement)) {
    title.focus({ preventScroll: true });
  }
}

function startSession(who) {
  session = { role: who.role, authEnabled: who.auth_enabled, keyName: who.key_name };
  api.setAuthEnabled(session.authEnabled);
  renderNav();
}

function signOut(message) {
  unmount();
  api.clearKey();
  session = null;
  clearNotices();
  showSignin(message);
}

function showSignin(message) {
  routeSeq += 1;
  document.title = 'Sign in \u00b7 Voxgate';
  for (const id of ['nav', 'nav-toggle', 'who']) document.getElementById(id).hidden = true;
  replace(document.getElementById('nav'));
  replace(view(), renderSignin({ message, onSignedIn: (who) => { startSession(who); route(); } }));
}

function wireChrome() {
  document.getElementById('nav-toggle').addEventListener('click', () => {
    setMenu(document.getElementById('nav-toggle').getAttribute('aria-expanded') !== 'true');
  });
  document.getElementById('nav').addEventListener('click', (e) => {
    if (e.target.closest('a')) setMenu(false);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && document.getElementById('nav').classList.contains('open')) {
      setMenu(false);
      document.getElementById('nav-toggle').focus();
    }
  });
  document.getElementById('signout').addEventListener('click', () => {
    signOut();
    notify('Signed out. The key was dropped from memory.', 'info');
  });
  document.getElementById('skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    const t = document.getElementById('page-title') || view();
    t.focus();
  });
}

async function boot() {
  wireChrome();
  api.onUnauthorized(() => {
    if (session) signOut('Your API key was refused (401): it may have been revoked. Sign in again.');
  });
  window.addEventListener('hashchange', () => { if (session) route(); });
  const authOn = await api.probeAuth();
  if (!authOn) {
    api.setAuthEnabled(false);
    try {
      const who = await api.whoami();
      if (!who.auth_enabled) {
        startSession({ ...who, auth_enabled: false, role: 'admin' });
        route();
        return;
      }
    } catch { /* fall back to signing in */ }
  }
  showSignin();
}

boot();
