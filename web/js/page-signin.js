// Sign-in: the key is checked with GET /api/v1/whoami and kept in memory only.
import * as api from './api.js';
import { h } from './dom.js';

export function renderSignin({ message, onSignedIn }) {
  const input = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off',
    spellcheck: 'false', required: true, 'aria-describedby': 'api-key-hint signin-error' });
  const error = h('p', { id: 'signin-error', class: 'form-error', role: 'alert' });
  if (message) error.textContent = message;
  const submit = h('button', { type: 'submit', class: 'primary', id: 'signin-submit' }, 'Sign in');
  const form = h('form', { id: 'signin', class: 'signin-form', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'api-key' }, 'API key'),
      input,
      h('p', { class: 'hint', id: 'api-key-hint' },
        'An admin or client key, made with ', h('code', null, 'voxgate keys create'),
        ' (the first admin key is in ', h('code', null, '<data-dir>/admin.key'),
        '). It stays in this tab\u2019s memory: reloading the page signs you out.')),
    error,
    submit);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    if (!key) {
      error.textContent = 'Enter an API key.';
      input.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Checking\u2026';
    error.textContent = '';
    api.setKey(key);
    api.setAuthEnabled(true);
    try {
      const who = await api.whoami();
      input.value = '';
      onSignedIn(who);
    } catch (err) {
      api.clearKey();
      if (err instanceof api.ApiError && err.status === 401) {
        error.textContent = 'That API key was refused (401). Check that you copied it whole and that it ' +
          'has not been revoked (voxgate keys list).';
      } else {
        error.textContent = 'Could not sign in: ' + api.errorText(err);
      }
      input.select();
      input.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });

  const root = h('div', { class: 'page page-signin', dataset: { page: 'signin', ready: 'true' } },
    h('div', { class: 'signin-card' },
      h('h1', { id: 'page-title', tabindex: '-1' }, 'Sign in to Voxgate'),
      h('p', { class: 'lead' }, 'Enroll and verify voices, watch live calls and broadcasts, run the cluster.'),
      form));
  queueMicrotask(() => input.focus());
  return root;
}
