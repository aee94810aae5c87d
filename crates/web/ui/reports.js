// Reports for supervisors and admins: GET /api/reports for a date range, by day or by intent,
// as figures, charts and a table. The range and grouping live in the page URL.

import { api, query } from './api.js';
import { h, replace } from './dom.js';
import { barChart, lineChart } from './charts.js';
import { duration, percent, words } from './format.js';

const DAY = 86400000;

/** `YYYY-MM-DD` of a Date in the reader's zone. */
function day(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** Local midnight of a `YYYY-MM-DD` as RFC 3339 UTC. */
function midnight(value, plusDays = 0) {
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString().replace('.000Z', 'Z');
}

const seconds = (v) => (v === null || v === undefined ? '—' : duration(v * 1000));
/** Seconds on a chart axis: short. */
const axisSeconds = (v) => (v < 120 ? `${Math.round(v)} s` : `${(v / 60).toFixed(1)} min`);
const count = (v) => (v === null || v === undefined ? '—' : String(Math.round(v)));
const rate = (v) => percent(v);
const satisfaction = (v) => (v === null || v === undefined ? '—' : Number(v).toFixed(2));

/** The figures of a report row, in the order the page shows them. */
const FIGURES = [
  ['calls', 'Calls', count],
  ['containment_rate', 'Contained by the bot', rate],
  ['transfer_rate', 'Transferred to a person', rate],
  ['abandonment_rate', 'Abandoned', rate],
  ['avg_handle_secs', 'Average handle time', seconds],
  ['avg_speed_of_answer_secs', 'Average speed of answer', seconds],
  ['repeat_callers', 'Repeat callers', count],
  ['satisfaction', 'Satisfaction', satisfaction],
];

function charts(report) {
  const rows = report.rows;
  const labels = rows.map((r) => (report.by === 'intent' ? words(r.key || 'none') : r.key));
  const of = (key) => rows.map((r) => (typeof r[key] === 'number' ? r[key] : null));
  const byDay = report.by !== 'intent';
  const chart = byDay ? lineChart : barChart;
  const rates = [
    { name: 'contained', values: of('containment_rate') },
    { name: 'transferred', values: of('transfer_rate') },
    { name: 'abandoned', values: of('abandonment_rate') },
  ];
  const per = byDay ? 'per day' : 'per intent';
  return [
    barChart({ title: `Calls ${per}`, testid: 'chart-calls', labels, series: [{ name: 'calls', values: of('calls') }], format: count }),
    chart({ title: `Containment, transfer and abandonment ${per}`, testid: 'chart-rates', labels, series: rates, format: rate, fixedTop: 1 }),
    chart({
      title: `Average handle time and speed of answer ${per}`, testid: 'chart-times', labels,
      series: [{ name: 'handle time', values: of('avg_handle_secs') }, { name: 'speed of answer', values: of('avg_speed_of_answer_secs') }],
      format: axisSeconds,
    }),
    chart({ title: `Satisfaction ${per}`, testid: 'chart-satisfaction', labels, series: [{ name: 'satisfaction', values: of('satisfaction') }], format: satisfaction }),
  ].map((svg) => h('figure', { class: 'card chart-card' }, h('figcaption', {}, svg.getAttribute('aria-label')), svg));
}

function table(report) {
  return h('table', { class: 'report', 'data-testid': 'report-table' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, report.by === 'intent' ? 'Intent' : 'Day'),
      FIGURES.map(([, label]) => h('th', { scope: 'col', class: 'num' }, label)))),
    h('tbody', {}, report.rows.map((r) => h('tr', {},
      h('th', { scope: 'row' }, report.by === 'intent' ? words(r.key || 'none') : r.key),
      FIGURES.map(([key, , format]) => h('td', { class: 'num' }, format(r[key])))))),
    report.totals ? h('tfoot', {}, h('tr', {}, h('th', { scope: 'row' }, 'All'),
      FIGURES.map(([key, , format]) => h('td', { class: 'num' }, format(report.totals[key]))))) : null);
}

/** Renders the reports page for the range in the URL (the last 30 days by default). */
export async function render({ main, me, navigate, current, reportRoles }) {
  document.title = 'Reports · Switchboard QA';
  if (!reportRoles.includes(me.role)) {
    replace(main, h('section', { class: 'card notice', 'data-testid': 'reports-forbidden' },
      h('h1', {}, 'Reports'), h('p', { role: 'alert' }, 'Reports are for supervisors and admins.')));
    return;
  }
  const params = new URLSearchParams(location.search);
  const today = new Date();
  const from = params.get('from') || day(new Date(today.getTime() - 29 * DAY));
  const to = params.get('to') || day(today);
  const by = params.get('by') === 'intent' ? 'intent' : 'day';
  const repeat = params.get('repeat_days') || '7';

  const input = (id, attrs) => h('input', { id, name: id, 'data-testid': `report-${id}`, ...attrs });
  const form = h('form', { class: 'card filters report-filters', 'data-testid': 'report-form' },
    h('div', { class: 'field' }, h('label', { for: 'from' }, 'From'), input('from', { type: 'date', value: from, required: true })),
    h('div', { class: 'field' }, h('label', { for: 'to' }, 'To (inclusive)'), input('to', { type: 'date', value: to, required: true })),
    h('div', { class: 'field' }, h('label', { for: 'by' }, 'Group by'),
      h('select', { id: 'by', name: 'by', 'data-testid': 'report-by' },
        h('option', { value: 'day', selected: by === 'day' }, 'day'),
        h('option', { value: 'intent', selected: by === 'intent' }, 'intent'))),
    h('div', { class: 'field' }, h('label', { for: 'repeat_days' }, 'Repeat caller within (days)'),
      input('repeat_days', { type: 'number', min: 1, max: 90, value: repeat })),
    h('button', { type: 'submit', class: 'primary' }, 'Show'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    navigate(`/reports?${query(Object.fromEntries(data.entries()))}`);
  });
  const out = h('div', { class: 'report-body', 'data-testid': 'report-body' }, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  replace(main, h('h1', {}, 'Reports'), form, out);

  let report;
  try {
    report = await api(`/api/reports?${query({ from: midnight(from), to: midnight(to, 1), by, repeat_days: repeat })}`);
  } catch (e) {
    if (!current()) return;
    const text = e.status === 404 ? 'Reports are not available on this server yet.'
      : e.status === 403 ? 'Reports are for supervisors and admins.'
        : `The report cannot be made: ${e.message}`;
    replace(out, h('p', { class: e.status === 404 ? 'muted' : 'error', role: 'alert', 'data-testid': e.status === 404 ? 'reports-absent' : 'report-error' }, text));
    return;
  }
  if (!current()) return;
  const totals = report.totals || {};
  replace(out,
    h('div', { class: 'kpis', 'data-testid': 'kpis' }, FIGURES.map(([key, label, format]) => h('div', { class: 'kpi card' },
      h('span', { class: 'kpi-value' }, format(totals[key])), h('span', { class: 'kpi-label' }, label)))),
    report.rows.length
      ? [h('div', { class: 'charts' }, charts(report)), h('div', { class: 'card table-wrap' }, table(report))]
      : h('p', { class: 'muted card' }, 'No calls in this range.'));
}
