// The QA pages: who is signed in, the header, and routing between pages on the client (the
// server answers index.html for each page path, so links can be shared and reloaded).

import { api, ApiError, setCsrfToken } from './api.js';
import { h, replace } from './dom.js';
import * as signin from './signin.js';
import * as calls from './calls.js';
import * as call from './call.js';
import * as reports from './reports.js';

const main = document.getElementById('main');
let me = null;
let cleanup = null;
let rendering = 0;

/** Roles that see reports. */
const REPORT_ROLES = ['admin', 'supervisor'];

function showWho() {
  document.getElementById('nav').hidden = !me;
  document.getElementById('who').hidden = !me;
  document.getElementById('nav-reports').hidden = !me || !REPORT_ROLES.includes(me.role);
  if (me) {
    document.getElementById('who-name').textContent = me.name;
    document.getElementById('who-role').textContent = me.role;
  }
  for (const link of document.querySelectorAll('#nav a')) {
    const here = location.pathname === link.getAttribute('href')
      || (link.getAttribute('href') === '/calls' && location.pathname === '/');
    if (here) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/** Goes to a page of the UI (pushes a history entry unless `replace`). */
function navigate(url, { replace: replacing = false, state = null } = {}) {
  if (replacing) history.replaceState(state, '', url);
  else history.pushState(state, '', url);
  route(true);
}

/** Who is signed in (null before sign-in). */
function setMe(who) {
  me = who ? { name: who.name, role: who.role, agent_id: who.agent_id } : null;
  if (who) setCsrfToken(who.csrf_token);
  showWho();
}

function toSignIn() {
  const next = location.pathname + location.search;
  const url = next.startsWith('/sign-in') ? '/sign-in' : `/sign-in?next=${encodeURIComponent(next)}`;
  navigate(url, { replace: true });
}

/** A page saying what went wrong; 401 sends to sign-in. */
function showError(error, title = 'Something went wrong') {
  if (error instanceof ApiError && error.status === 401) {
    setMe(null);
    toSignIn();
    return;
  }
  replace(main, h('section', { class: 'card notice', 'data-testid': 'error-page' },
    h('h1', {}, title),
    h('p', { role: 'alert' }, error.message),
    h('p', {}, h('a', { href: '/calls', 'data-link': true }, 'Back to the calls')),
  ));
}

async function route(moved = false) {
  const mine = ++rendering;
  if (cleanup) cleanup();
  cleanup = null;
  const path = location.pathname;
  showWho();
  const ctx = {
    me, main, navigate, setMe, showError, reportRoles: REPORT_ROLES, current: () => mine === rendering,
  };
  let page;
  if (path === '/sign-in') page = signin;
  else if (!me) return toSignIn();
  else if (path === '/' || path === '/calls') page = calls;
  else if (path.startsWith('/calls/')) {
    page = call;
    ctx.id = decodeURIComponent(path.slice('/calls/'.length));
  } else if (path === '/reports') page = reports;
  if (!page) {
    document.title = 'Not found · Switchboard QA';
    replace(main, h('section', { class: 'card notice', 'data-testid': 'not-found' },
      h('h1', {}, 'No such page'),
      h('p', {}, h('a', { href: '/calls', 'data-link': true }, 'Go to the calls'))));
    return;
  }
  try {
    const done = await page.render(ctx);
    if (mine === rendering) cleanup = done || null;
    else if (done) done();
  } catch (e) {
    if (mine === rendering) showError(e);
  }
  // Tell assistive technology the page changed; the first load keeps the default focus.
  if (moved && mine === rendering) main.focus({ preventScroll: true });
}

document.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-link]');
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute('href'));
});
window.addEventListener('popstate', () => route(true));
document.getElementById('sign-out').addEventListener('click', async () => {
  try {
    await api('/api/session', { method: 'DELETE' });
  } catch (e) {
    // Signed in with a token or already signed out: either way, nobody is signed in here now.
    if (!(e instanceof ApiError)) throw e;
  }
  setMe(null);
  navigate('/sign-in');
});

try {
  setMe(await api('/api/session'));
  route();
} catch (e) {
  if (e instanceof ApiError && e.status === 401) route();
  else replace(main, h('p', { role: 'alert' }, `The server does not answer: ${e.message}`));
}
