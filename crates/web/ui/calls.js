// The call list: every filter of GET /api/calls in a form whose values live in the page URL
// (so a search can be shared, reloaded and gone back to), keyset pages, and the QA columns.

import { api, hasRoute, query } from './api.js';
import { h, replace } from './dom.js';
import { ANGRY, dateTime, duration, level, words } from './format.js';

/** The list's own parameters, as the API names them. */
const FILTERS = ['q', 'from', 'to', 'caller', 'dialplan', 'intent', 'outcome', 'escalated', 'agent', 'min_frustration'];
const OUTCOMES = ['completed', 'caller_hangup', 'cancelled', 'rejected', 'no_ack', 'rtp_timeout', 'max_duration', 'interrupted'];
const PAGE_SIZES = ['25', '50', '100', '200'];
/** Where the call page's "back" link goes: the last list the reader saw. */
export const LAST_LIST = 'switchboard.lastList';

/** `2025-01-31T08:00:00Z` -> the `datetime-local` value in the reader's zone. */
function toLocalInput(iso) {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}`;
}

/** A `datetime-local` value -> RFC 3339 in UTC, as the API takes it. */
function fromLocalInput(value) {
  return value ? new Date(value).toISOString().replace('.000Z', 'Z') : '';
}

function field(label, input, wide = false) {
  return h('div', { class: wide ? 'field wide' : 'field' }, h('label', { for: input.id }, label), input);
}

function filterForm(params, agents, onSearch) {
  const input = (name, attrs = {}) => h('input', {
    id: `f-${name}`, name, value: params.get(name) || '', 'data-testid': `filter-${name}`, ...attrs,
  });
  const q = input('q', { type: 'search', placeholder: 'Words said in the call', class: 'search' });
  const from = input('from', { type: 'datetime-local', value: toLocalInput(params.get('from') || '') });
  const to = input('to', { type: 'datetime-local', value: toLocalInput(params.get('to') || '') });
  const outcome = input('outcome', { list: 'outcomes', placeholder: 'any' });
  const agent = input('agent', { list: 'agents', placeholder: 'any' });
  const escalated = h('select', { id: 'f-escalated', name: 'escalated', 'data-testid': 'filter-escalated' },
    h('option', { value: '' }, 'any'),
    h('option', { value: 'true', selected: params.get('escalated') === 'true' }, 'escalated'),
    h('option', { value: 'false', selected: params.get('escalated') === 'false' }, 'not escalated'));
  const frustration = input('min_frustration', {
    type: 'number', min: '0', max: '1', step: '0.1', placeholder: `0–1 (angry ${ANGRY})`,
  });
  const limit = h('select', { id: 'f-limit', name: 'limit', 'data-testid': 'filter-limit' },
    PAGE_SIZES.map((n) => h('option', { value: n, selected: (params.get('limit') || '50') === n }, n)));
  const form = h('form', { class: 'card filters', role: 'search', 'data-testid': 'filters' },
    h('div', { class: 'search-row' },
      h('label', { for: 'f-q', class: 'visually-hidden' }, 'Search the transcripts'),
      q,
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'search' }, 'Search'),
      h('button', { type: 'button', 'data-testid': 'clear', onclick: () => onSearch(new URLSearchParams()) }, 'Clear')),
    h('div', { class: 'filter-grid' },
      field('From', from), field('To', to),
      field('Caller number', input('caller', { inputmode: 'tel' })),
      field('Dialplan', input('dialplan')),
      field('Intent', input('intent')),
      field('Outcome', outcome),
      field('Escalated', escalated),
      field('Agent', agent),
      field('Frustration at least', frustration),
      field('Per page', limit)),
    h('datalist', { id: 'outcomes' }, OUTCOMES.map((o) => h('option', { value: o }))),
    h('datalist', { id: 'agents' }, agents.map((a) => h('option', { value: a.id }, a.name || a.id))));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = new URLSearchParams();
    for (const name of [...FILTERS, 'limit']) {
      let value = String(data.get(name) || '').trim();
      if (name === 'from' || name === 'to') value = fromLocalInput(value);
      if (name === 'limit' && value === '50') value = '';
      if (value) next.set(name, value);
    }
    onSearch(next);
  });
  return form;
}

function frustrationCell(score) {
  if (score === null || score === undefined) return h('td', { class: 'num muted' }, '—');
  const lvl = level(score);
  return h('td', { class: `num frustration ${lvl}`, 'data-testid': 'cell-frustration' },
    h('span', { class: 'meter', 'aria-hidden': 'true' }, h('span', { class: `fill w${Math.round(score * 10)}` })),
    score.toFixed(2),
    lvl === 'angry' ? h('span', { class: 'badge angry', 'data-testid': 'angry-flag' }, 'angry') : null);
}

function row(call, navigate) {
  const href = `/calls/${encodeURIComponent(call.id)}`;
  const tr = h('tr', { 'data-testid': 'call-row', 'data-call-id': call.id, class: level(call.max_frustration ?? 0) },
    h('td', {}, h('a', { href, 'data-link': true, 'data-testid': 'call-link' }, dateTime(call.started_at))),
    h('td', {}, call.caller),
    h('td', {}, call.dialplan || '—'),
    h('td', { class: 'num' }, call.duration_ms === null ? 'running' : duration(call.duration_ms)),
    h('td', {}, h('span', { class: `outcome ${call.outcome || 'running'}` }, words(call.outcome || 'running'))),
    h('td', {}, words(call.intent)),
    h('td', {}, call.escalated ? h('span', { class: 'badge escalated' }, 'escalated') : h('span', { class: 'muted' }, 'no')),
    h('td', {}, call.agent_id || '—'),
    frustrationCell(call.max_frustration),
    h('td', { class: 'num score', 'data-testid': 'cell-score' }));
  // The whole row opens the call; the link in it stays the keyboard's way in.
  tr.addEventListener('click', (event) => {
    if (!event.target.closest('a') && !window.getSelection().toString()) navigate(href);
  });
  return tr;
}

/** Fills the score column from each call's scores, a few requests at a time. */
async function fillScores(rows, current) {
  const queue = [...rows];
  const worker = async () => {
    while (queue.length && current()) {
      const tr = queue.shift();
      const cell = tr.querySelector('.score');
      try {
        const { scores } = await api(`/api/calls/${encodeURIComponent(tr.dataset.callId)}/scores`);
        const totals = scores.map((sc) => sc.total).filter((t) => typeof t === 'number');
        cell.textContent = totals.length ? `${(totals.reduce((a, b) => a + b, 0) / totals.length).toFixed(0)} %` : '—';
        if (totals.length > 1) cell.title = `average of ${totals.length} reviews`;
      } catch {
        cell.textContent = '—';
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

/** Renders the list for the filters in the page URL. */
export async function render({ main, navigate, me, current }) {
  document.title = 'Calls · Switchboard QA';
  sessionStorage.setItem(LAST_LIST, location.pathname + location.search);
  const params = new URLSearchParams(location.search);
  const apiParams = Object.fromEntries(
    [...FILTERS, 'limit', 'cursor'].map((name) => [name, params.get(name)]),
  );
  const search = (next) => navigate(`/calls${next.toString() ? `?${next}` : ''}`);
  const [agents, scoring, exporting] = await Promise.all([
    me.role === 'agent' ? [] : api('/api/agents').then((a) => (Array.isArray(a) ? a : []), () => []),
    hasRoute('/api/scorecard'),
    hasRoute('/api/export'),
  ]);
  const status = h('p', { class: 'status', role: 'status', 'data-testid': 'list-status' }, 'Searching…');
  const tbody = h('tbody', {});
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  const filterOnly = query(Object.fromEntries(FILTERS.map((n) => [n, params.get(n)])));
  const exports = exporting
    ? h('span', { class: 'exports' }, 'Export these calls: ',
      h('a', { href: `/api/export?${query({ format: 'csv' })}${filterOnly ? `&${filterOnly}` : ''}`, download: 'calls.csv', 'data-testid': 'export-csv' }, 'CSV'),
      ' · ',
      h('a', { href: `/api/export?${query({ format: 'json' })}${filterOnly ? `&${filterOnly}` : ''}`, download: 'calls.json', 'data-testid': 'export-json' }, 'JSON'))
    : null;
  const table = h('table', { class: 'calls', 'data-testid': 'call-table' },
    h('caption', { class: 'visually-hidden' }, 'Calls, newest first'),
    h('thead', {}, h('tr', {},
      ['Time', 'Caller', 'Dialplan', 'Duration', 'Outcome', 'Intent', 'Escalated', 'Agent', 'Frustration', scoring ? 'Score' : '']
        .map((t) => h('th', { scope: 'col', class: ['Duration', 'Frustration', 'Score'].includes(t) ? 'num' : null }, t)))),
    tbody);
  replace(main,
    h('h1', { class: 'visually-hidden' }, 'Calls'),
    filterForm(params, agents, search),
    h('section', { class: 'card list' }, h('div', { class: 'list-head' }, status, exports), h('div', { class: 'table-wrap' }, table), pager));

  const answer = await api(`/api/calls?${query(apiParams)}`);
  if (!current()) return;
  const rows = answer.calls.map((c) => row(c, navigate));
  replace(tbody, rows.length ? rows : h('tr', {}, h('td', { colspan: 10, class: 'empty' }, 'No call matches these filters.')));
  const page = Number(params.get('page') || '1');
  status.textContent = `${answer.calls.length} call${answer.calls.length === 1 ? '' : 's'}`
    + (page > 1 || answer.next_cursor ? ` · page ${page}` : '');

  const earlier = (history.state && history.state.cursors) || [];
  const at = (cursor, n, cursors) => {
    const next = new URLSearchParams(params);
    if (cursor) next.set('cursor', cursor); else next.delete('cursor');
    if (n > 1) next.set('page', String(n)); else next.delete('page');
    navigate(`/calls?${next}`, { state: { cursors } });
  };
  const button = (label, testid, onclick) => h('button', { type: 'button', 'data-testid': testid, onclick }, label);
  replace(pager,
    params.get('cursor') ? button('« First page', 'page-first', () => at(null, 1, [])) : null,
    earlier.length ? button('‹ Previous', 'page-prev', () => {
      const cursors = earlier.slice(0, -1);
      at(earlier[earlier.length - 1], page - 1, cursors);
    }) : null,
    answer.next_cursor ? button('Next ›', 'page-next', () => {
      at(answer.next_cursor, page + 1, [...earlier, params.get('cursor') || '']);
    }) : null);
  if (scoring) fillScores(rows, current);
}
