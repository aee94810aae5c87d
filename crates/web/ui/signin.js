// Sign-in: name and password to POST /api/session; the API's refusal is shown as it says it.

import { api } from './api.js';
import { h, replace } from './dom.js';

/** Renders the sign-in form. */
export function render({ main, navigate, setMe, me }) {
  document.title = 'Sign in · Switchboard QA';
  const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'signin-error', hidden: true });
  const name = h('input', {
    id: 'signin-name', name: 'name', autocomplete: 'username', required: true, 'data-testid': 'signin-name',
  });
  const password = h('input', {
    id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password',
    required: true, 'data-testid': 'signin-password',
  });
  const button = h('button', { type: 'submit', class: 'primary', 'data-testid': 'signin-submit' }, 'Sign in');
  const form = h('form', { class: 'card signin', 'data-testid': 'signin-form' },
    h('h1', {}, 'Sign in'),
    me ? h('p', { class: 'muted' }, `You are signed in as ${me.name}; sign in again to switch.`) : null,
    h('label', { for: 'signin-name' }, 'Name'), name,
    h('label', { for: 'signin-password' }, 'Password'), password,
    error,
    button,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.hidden = true;
    try {
      const who = await api('/api/session', {
        method: 'POST', body: { name: name.value, password: password.value },
      });
      setMe(who);
      const next = new URLSearchParams(location.search).get('next');
      // Only a path of this site: never a link elsewhere.
      const safe = next && next.startsWith('/') && !next.startsWith('//') ? next : '/calls';
      navigate(safe, { replace: true });
    } catch (e) {
      error.textContent = e.status === 401 ? `Sign-in refused: ${e.message}.` : e.message;
      error.hidden = false;
      password.select();
    } finally {
      button.disabled = false;
    }
  });
  replace(main, form);
  name.focus();
}
