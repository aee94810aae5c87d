// One call for review: the recording with its waveform and the frustration timeline under it on
// the same time axis, the transcript following the audio (the line being played has the class
// `current`; a click on a line, a comment or an event seeks there), the timeline events, the
// handoff summary, the scorecard and comments anchored at playback positions.

import { api, ApiError } from './api.js';
import { h, replace, s } from './dom.js';
import { LAST_LIST } from './calls.js';
import { ANGRY, brief, clock, dateTime, duration, level, speaker, words } from './format.js';
import { draw, parseWav } from './waveform.js';

/** Events worth seeing on the time axis and in the short list. */
const KEY_EVENTS = new Set([
  'answered', 'menu_option', 'menu_invalid', 'menu_timeout', 'dtmf', 'digits_collected',
  'listen_option', 'listen_value', 'listen_no_match', 'listen_no_input', 'kb_answer', 'bot_intent',
  'bot_not_understood', 'slot_value', 'slot_confirmed', 'webhook_failed', 'playback_stopped',
  'escalated', 'queue_entered', 'agent_ringing', 'agent_answered', 'transferred', 'agent_hangup',
  'hold', 'unhold', 'rtp_timeout', 'max_duration', 'hangup', 'ended',
]);
/** Event kinds that change who the caller talks to, marked apart on the time axis. */
const HANDOVER_EVENTS = new Set(['escalated', 'queue_entered', 'agent_answered', 'transferred']);

const enc = encodeURIComponent;

/** What an event says, in a few words. */
function eventDetail(event) {
  const d = event.data || {};
  if (typeof d !== 'object') return brief(d);
  const pick = ['option', 'digit', 'digits', 'value', 'intent', 'reason', 'agent', 'queue', 'target', 'by', 'outcome', 'codec', 'node'];
  const parts = pick.filter((k) => d[k] !== undefined && d[k] !== null && typeof d[k] !== 'object')
    .map((k) => `${words(k)}: ${brief(String(d[k]), 60)}`);
  return parts.length ? parts.join(' · ') : brief(d, 100);
}

/** The transcript text with the spans the server masked (`pii`) marked. */
function lineText(line) {
  const chars = Array.from(line.text || '');
  const spans = (Array.isArray(line.pii) ? line.pii : [])
    .filter((p) => Number.isInteger(p.start) && Number.isInteger(p.end) && p.start < p.end)
    .sort((a, b) => a.start - b.start);
  const out = [];
  let at = 0;
  for (const span of spans) {
    if (span.start < at) continue;
    out.push(chars.slice(at, span.start).join(''));
    out.push(h('mark', { class: 'pii', 'data-testid': 'pii', title: `hidden: ${words(span.kind || 'personal data')}` },
      chars.slice(span.start, span.end).join('')));
    at = span.end;
  }
  out.push(chars.slice(at).join(''));
  return out;
}

function forbiddenPage(main) {
  document.title = 'Not yours · Switchboard QA';
  replace(main, h('section', { class: 'card notice', 'data-testid': 'forbidden' },
    h('h1', {}, 'You cannot open this call'),
    h('p', { role: 'alert' }, 'You cannot open this call (it belongs to another agent).'),
    h('p', {}, h('a', { href: '/calls', 'data-link': true }, 'Back to your calls'))));
}

function notFoundPage(main, id) {
  document.title = 'No such call · Switchboard QA';
  replace(main, h('section', { class: 'card notice', 'data-testid': 'no-such-call' },
    h('h1', {}, 'No such call'),
    h('p', { role: 'alert' }, `There is no call with the id ${id}.`),
    h('p', {}, h('a', { href: '/calls', 'data-link': true }, 'Back to the calls'))));
}

function head(call) {
  const meta = [
    ['Started', dateTime(call.started_at)],
    ['Dialled', call.dialled],
    ['Dialplan', call.dialplan || '—'],
    ['Duration', call.duration_ms === null ? 'running' : duration(call.duration_ms)],
    ['Outcome', words(call.outcome || 'running')],
    ['Intent', words(call.intent)],
    ['Agent', call.agent_id || '—'],
  ];
  const frustration = call.max_frustration;
  const back = sessionStorage.getItem(LAST_LIST) || '/calls';
  return h('div', { class: 'call-head' },
    h('a', { href: back, 'data-link': true, class: 'back' }, '‹ Calls'),
    h('h1', { 'data-testid': 'call-title' }, `Call from ${call.caller}`),
    call.escalated ? h('span', { class: 'badge escalated' }, 'escalated') : null,
    frustration !== null && frustration !== undefined
      ? h('span', { class: `badge ${level(frustration)}`, 'data-testid': 'call-frustration' },
        `max frustration ${frustration.toFixed(2)}${frustration >= ANGRY ? ' · angry' : ''}`)
      : null,
    h('dl', { class: 'meta' }, meta.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('span', { class: 'exports' },
      call.recording_url ? h('a', { href: call.recording_url, download: `call-${call.id}.wav`, 'data-testid': 'download-recording' }, 'Recording (WAV)') : null,
      call.recording_url ? ' · ' : null,
      h('a', { href: `/api/calls/${enc(call.id)}`, download: `call-${call.id}.json`, 'data-testid': 'export-call' }, 'Export (JSON)')));
}

function handoffPanel(handoff, origin) {
  const body = [];
  if (!handoff) {
    body.push(h('p', { class: 'muted' }, 'The bot did not hand this call over.'));
  } else {
    const rows = [
      ['Reason', words(handoff.reason)],
      ['Said', handoff.detail],
      ['When', handoff.at ? clock(Date.parse(handoff.at) - origin) : null],
      ['Intent', handoff.intent ? words(handoff.intent) : null],
      ['Priority', handoff.priority],
      ['To', handoff.target],
      ['Details', handoff.slots && Object.keys(handoff.slots).length
        ? Object.entries(handoff.slots).map(([k, v]) => `${words(k)}: ${v}`).join(', ') : null],
    ].filter(([, v]) => v !== null && v !== undefined && v !== '');
    if (handoff.summary) body.push(h('p', { class: 'summary', 'data-testid': 'handoff-summary' }, handoff.summary));
    body.push(h('dl', { class: 'pairs' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))])));
    if (Array.isArray(handoff.utterances) && handoff.utterances.length) {
      body.push(h('p', { class: 'label' }, 'The caller last said'),
        h('ul', { class: 'quotes' }, handoff.utterances.map((u) => h('li', {}, typeof u === 'string' ? u : brief(u)))));
    }
    if (Array.isArray(handoff.frustration) && handoff.frustration.length) {
      body.push(h('p', { class: 'label' }, 'Frustration readings'),
        h('p', {}, handoff.frustration.map((r) => `${Number(r.score).toFixed(2)}${r.trend ? ` (${r.trend})` : ''}`).join(' → ')));
    }
  }
  return h('section', { class: 'card', 'data-testid': 'handoff', 'aria-labelledby': 'handoff-h' },
    h('h2', { id: 'handoff-h' }, 'Handoff summary'), body);
}

/** The scorecard: existing scores with totals, and the form (not for agents). */
async function scorecardPanel(panel, { id, me, current }) {
  const title = h('h2', { id: 'score-h' }, 'Scorecard');
  let card;
  try {
    card = await api('/api/scorecard');
  } catch (e) {
    if (!current()) return;
    if (e.status === 404) {
      replace(panel, title, h('p', { class: 'muted', 'data-testid': 'scorecard-absent' },
        'Scoring is not available on this server yet.'));
    } else {
      replace(panel, title, h('p', { class: 'error', role: 'alert' }, `The scorecard cannot be loaded: ${e.message}`));
    }
    return;
  }
  const list = h('ul', { class: 'scores', 'data-testid': 'scores' });
  const status = h('p', { class: 'status', role: 'status', 'data-testid': 'score-status' });
  const label = Object.fromEntries(card.criteria.map((c) => [c.id, c.label]));
  const showScores = async () => {
    let scores = [];
    try {
      ({ scores } = await api(`/api/calls/${enc(id)}/scores`));
    } catch (e) {
      replace(list, h('li', { class: 'error' }, `Scores cannot be loaded: ${e.message}`));
      return [];
    }
    replace(list, scores.length ? scores.map((sc) => h('li', { 'data-testid': 'score' },
      h('span', { class: 'total' }, `${Number(sc.total).toFixed(0)} %`),
      h('span', {}, ` ${sc.reviewer}`),
      h('span', { class: 'muted' }, ` · ${dateTime(sc.updated_at)}`),
      sc.note ? h('p', { class: 'note' }, sc.note) : null,
      h('details', {}, h('summary', {}, 'Answers'),
        h('dl', { class: 'pairs' }, Object.entries(sc.answers || {}).map(([k, v]) => [
          h('dt', {}, label[k] || k),
          h('dd', {}, v === true ? 'yes' : v === false ? 'no' : String(v))]))))) : h('li', { class: 'muted' }, 'Not scored yet.'));
    return scores;
  };
  const scores = await showScores();
  if (!current()) return;
  replace(panel, title, h('p', { class: 'muted' }, card.name), list);
  if (me.role === 'agent') return;

  const mine = scores.find((sc) => sc.reviewer === me.name);
  const criteria = card.criteria.map((c) => {
    const name = `crit-${c.id}`;
    const had = mine && mine.answers ? mine.answers[c.id] : undefined;
    const choices = c.kind === 'yes_no'
      ? [['true', 'Yes', had === true], ['false', 'No', had === false]]
      : [1, 2, 3, 4, 5].map((n) => [String(n), String(n), had === n]);
    return h('fieldset', { class: `criterion ${c.kind}`, 'data-testid': 'criterion', 'data-criterion': c.id },
      h('legend', {}, c.label, c.weight !== undefined ? h('small', { class: 'muted' }, ` · weight ${c.weight}`) : null),
      choices.map(([value, text, checked], i) => h('label', { class: 'choice' },
        h('input', {
          type: 'radio', name, value, checked, required: i === 0,
          'data-testid': `answer-${c.id}-${c.kind === 'yes_no' ? text.toLowerCase() : value}`,
        }), text)),
      c.kind === 'scale' ? h('span', { class: 'muted scale-hint' }, '1 poor – 5 excellent') : null);
  });
  const note = h('textarea', { id: 'score-note', name: 'note', rows: 2, maxlength: 2000, 'data-testid': 'score-note' },
    mine && mine.note ? mine.note : '');
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'score-submit' }, mine ? 'Update score' : 'Submit score');
  const form = h('form', { class: 'score-form', 'data-testid': 'score-form' },
    criteria, h('label', { for: 'score-note' }, 'Note'), note, submit, status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const answers = {};
    for (const c of card.criteria) {
      const v = data.get(`crit-${c.id}`);
      answers[c.id] = c.kind === 'yes_no' ? v === 'true' : Number(v);
    }
    submit.disabled = true;
    status.className = 'status';
    status.textContent = 'Saving…';
    try {
      const saved = await api(`/api/calls/${enc(id)}/scores`, { method: 'PUT', body: { answers, note: note.value } });
      status.textContent = `Saved: ${Number(saved.total).toFixed(0)} %`;
      submit.textContent = 'Update score';
      await showScores();
    } catch (e) {
      status.className = 'status error';
      status.textContent = `Not saved: ${e.message}`;
    } finally {
      submit.disabled = false;
    }
  });
  panel.append(form);
}

/** Comments at playback positions; a click on one seeks there. */
async function commentsPanel(panel, { id, player, current }) {
  const title = h('h2', { id: 'comments-h' }, 'Comments');
  const list = h('ol', { class: 'comments', 'data-testid': 'comment-list' });
  const load = async () => {
    const { comments } = await api(`/api/calls/${enc(id)}/comments`);
    comments.sort((a, b) => a.at_ms - b.at_ms);
    replace(list, comments.length ? comments.map((c) => h('li', { 'data-testid': 'comment' },
      h('button', { type: 'button', class: 'ts', onclick: () => player.seek(c.at_ms), title: 'Play from here' }, clock(c.at_ms)),
      h('span', { class: 'text' }, c.text),
      h('span', { class: 'muted by' }, `${c.author} · ${dateTime(c.created_at)}`))) : h('li', { class: 'muted' }, 'No comments yet.'));
  };
  try {
    await load();
  } catch (e) {
    if (!current()) return;
    replace(panel, title, e.status === 404
      ? h('p', { class: 'muted', 'data-testid': 'comments-absent' }, 'Comments are not available on this server yet.')
      : h('p', { class: 'error', role: 'alert' }, `Comments cannot be loaded: ${e.message}`));
    return;
  }
  if (!current()) return;
  const at = h('span', { 'data-testid': 'comment-at' }, clock(0));
  player.onTime((ms) => { at.textContent = clock(ms); });
  const text = h('textarea', { id: 'comment-text', rows: 2, required: true, maxlength: 2000, 'data-testid': 'comment-text' });
  const status = h('p', { class: 'status', role: 'status' });
  const form = h('form', { class: 'comment-form' },
    h('label', { for: 'comment-text' }, 'Comment at ', at),
    text,
    h('button', { type: 'submit', 'data-testid': 'comment-submit' }, 'Add comment'),
    status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.className = 'status';
    try {
      await api(`/api/calls/${enc(id)}/comments`, { method: 'POST', body: { at_ms: Math.round(player.time()), text: text.value } });
      text.value = '';
      status.textContent = 'Comment added.';
      await load();
    } catch (e) {
      status.className = 'status error';
      status.textContent = `Not added: ${e.message}`;
    }
  });
  replace(panel, title, list, form);
}

function eventsPanel(events, origin, player) {
  const list = h('ol', { class: 'events', 'data-testid': 'events' });
  const all = h('input', { type: 'checkbox', id: 'all-events', 'data-testid': 'all-events' });
  const show = () => replace(list, events.filter((e) => all.checked || KEY_EVENTS.has(e.kind)).map((e) => {
    const ms = Date.parse(e.at) - origin;
    return h('li', { 'data-testid': 'event', 'data-kind': e.kind, class: HANDOVER_EVENTS.has(e.kind) ? 'handover' : null },
      h('button', { type: 'button', class: 'ts', onclick: () => player.seek(Math.max(0, ms)), title: 'Play from here' }, clock(ms)),
      h('span', { class: 'kind' }, words(e.kind)),
      h('span', { class: 'detail' }, eventDetail(e)));
  }));
  all.addEventListener('change', show);
  show();
  return h('section', { class: 'card', 'aria-labelledby': 'events-h' },
    h('div', { class: 'card-head' }, h('h2', { id: 'events-h' }, 'Timeline'),
      h('label', { class: 'check' }, all, ' every event')),
    list);
}

/** The frustration of the caller's lines and the key events, on the recording's time axis. */
function drawTimeline(svg, { lines, events, origin, totalMs, seek }) {
  const width = Math.max(100, svg.clientWidth);
  const height = 84;
  const plotTop = 6;
  const plotBottom = 46;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('height', height);
  const x = (ms) => Math.max(0, Math.min(width, (ms / totalMs) * width));
  const y = (score) => plotBottom - score * (plotBottom - plotTop);
  const points = lines.filter((l) => l.speaker === 'caller' && typeof l.frustration === 'number')
    .map((l) => ({ line: l, x: x((l.start_ms + l.end_ms) / 2), y: y(l.frustration) }));
  const children = [
    s('rect', { class: 'zone-angry', x: 0, y: y(1), width, height: y(ANGRY) - y(1) }),
    s('line', { class: 'threshold', x1: 0, x2: width, y1: y(ANGRY), y2: y(ANGRY) }),
    s('line', { class: 'baseline', x1: 0, x2: width, y1: plotBottom, y2: plotBottom }),
    s('text', { class: 'axis-label', x: 4, y: plotTop + 8 }, 'Frustration'),
  ];
  if (points.length) {
    const path = points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    children.push(s('path', { class: 'frustration-line', d: path }));
    for (const p of points) {
      children.push(s('circle', { class: `point ${level(p.line.frustration)}`, cx: p.x, cy: p.y, r: 4, 'data-testid': 'frustration-point' },
        s('title', {}, `${clock(p.line.start_ms)} frustration ${p.line.frustration.toFixed(2)}: ${p.line.text}`)));
    }
  } else {
    children.push(s('text', { class: 'axis-label', x: width / 2, y: plotBottom - 14, 'text-anchor': 'middle' }, 'no frustration readings'));
  }
  for (const e of events.filter((ev) => KEY_EVENTS.has(ev.kind))) {
    const ex = x(Date.parse(e.at) - origin);
    children.push(s('rect', { class: `event-mark ${HANDOVER_EVENTS.has(e.kind) ? 'handover' : ''}`, x: ex - 1, y: 50, width: 3, height: 12 },
      s('title', {}, `${clock(Date.parse(e.at) - origin)} ${words(e.kind)} ${eventDetail(e)}`)));
  }
  // Time ticks about every 90 px, at round seconds.
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800].find((t) => (t * 1000 / totalMs) * width >= 90) || 3600;
  for (let t = 0; t * 1000 <= totalMs; t += step) {
    const tx = x(t * 1000);
    // The last label would run off the right edge.
    if (tx > width - 30) break;
    children.push(s('line', { class: 'tick', x1: tx, x2: tx, y1: 64, y2: 68 }),
      s('text', { class: 'tick-label', x: tx + 2, y: 80 }, clock(t * 1000).replace(/\.0$/, '')));
  }
  replace(svg, children);
  svg.onclick = (event) => {
    const box = svg.getBoundingClientRect();
    seek(((event.clientX - box.left) / box.width) * totalMs);
  };
}

/** Renders the call page. */
export async function render({ id, main, me, current }) {
  document.title = 'Call · Switchboard QA';
  let detail;
  try {
    detail = await api(`/api/calls/${enc(id)}`);
  } catch (e) {
    if (!(e instanceof ApiError) || ![403, 404].includes(e.status)) throw e;
    if (current()) (e.status === 403 ? forbiddenPage(main) : notFoundPage(main, id));
    return null;
  }
  if (!current()) return null;
  const { call, events, transcript, handoff } = detail;
  document.title = `Call from ${call.caller} · Switchboard QA`;
  // The recording and the transcript times start when the call was answered.
  const origin = Date.parse(call.answered_at || call.started_at);
  let totalMs = Math.max(1000, call.ended_at ? Date.parse(call.ended_at) - origin : 1000,
    ...transcript.map((l) => l.end_ms));

  const audio = call.recording_url
    ? h('audio', { controls: true, preload: 'metadata', src: call.recording_url, 'data-testid': 'audio' })
    : null;
  const canvas = h('canvas', { class: 'waveform', 'data-testid': 'waveform', 'aria-hidden': 'true' });
  const playhead = h('div', { class: 'playhead', 'aria-hidden': 'true' });
  const wave = h('div', {
    class: 'wave-wrap', tabindex: audio ? 0 : -1, role: 'slider', 'aria-label': 'Position in the recording',
    'aria-valuemin': 0, 'aria-valuemax': Math.round(totalMs / 1000), 'aria-valuenow': 0, 'aria-valuetext': clock(0),
    'data-testid': 'wave',
  }, canvas, playhead);
  const timeline = s('svg', { class: 'timeline', 'data-testid': 'frustration-timeline', role: 'img', 'aria-label': 'Caller frustration and events over the call' });
  const waveNote = h('p', { class: 'muted wave-note', role: 'status', 'data-testid': 'wave-note' },
    audio ? 'Loading the waveform…' : 'This call has no recording.');

  const timeListeners = [];
  const player = {
    time: () => (audio ? audio.currentTime * 1000 : 0),
    seek: (ms) => {
      if (!audio) return;
      audio.currentTime = Math.max(0, ms) / 1000;
      update();
    },
    onTime: (f) => timeListeners.push(f),
  };

  const lineItems = transcript.map((line) => {
    const li = h('li', {
      class: `line ${line.speaker}`, 'data-testid': 'transcript-line', 'data-start-ms': line.start_ms, 'data-end-ms': line.end_ms,
    },
    h('button', { type: 'button', class: 'ts', title: 'Play from here', 'data-testid': 'line-seek' }, clock(line.start_ms)),
    h('span', { class: `speaker ${line.speaker}` }, speaker(line.speaker)),
    h('p', { class: 'text' }, lineText(line),
      line.interrupted_after_ms !== null && line.interrupted_after_ms !== undefined
        ? h('span', { class: 'muted interrupted' }, ` (interrupted after ${(line.interrupted_after_ms / 1000).toFixed(1)} s)`) : null),
    typeof line.frustration === 'number'
      ? h('span', { class: `badge ${level(line.frustration)}`, title: 'frustration' }, line.frustration.toFixed(2)) : null);
    // A click anywhere on the line (the time is the keyboard's button) plays from its start.
    li.addEventListener('click', () => player.seek(line.start_ms + 1));
    return { li, start: line.start_ms, end: line.end_ms };
  });
  const transcriptList = h('ol', { class: 'transcript', 'data-testid': 'transcript' },
    lineItems.length ? lineItems.map((l) => l.li) : h('li', { class: 'muted' }, 'No transcript for this call.'));

  let lastCurrent = null;
  function update() {
    const ms = player.time();
    let first = null;
    for (const item of lineItems) {
      const on = item.start <= ms && ms < item.end;
      item.li.classList.toggle('current', on);
      if (on && !first) first = item.li;
    }
    if (first && first !== lastCurrent) {
      // Keep the line being played in view inside the transcript box, without moving the page.
      const top = first.offsetTop;
      if (top < transcriptList.scrollTop || top + first.offsetHeight > transcriptList.scrollTop + transcriptList.clientHeight) {
        transcriptList.scrollTop = Math.max(0, top - transcriptList.clientHeight / 3);
      }
    }
    lastCurrent = first;
    playhead.style.left = `${Math.min(100, (ms / totalMs) * 100)}%`;
    wave.setAttribute('aria-valuenow', Math.round(ms / 1000));
    wave.setAttribute('aria-valuetext', clock(ms));
    for (const f of timeListeners) f(ms);
  }

  let frame = 0;
  const tick = () => {
    update();
    frame = audio && !audio.paused ? requestAnimationFrame(tick) : 0;
  };
  const redraw = () => drawTimeline(timeline, { lines: transcript, events, origin, totalMs, seek: player.seek });
  let wav = null;
  if (audio) {
    for (const kind of ['timeupdate', 'seeked', 'pause', 'ended']) audio.addEventListener(kind, update);
    audio.addEventListener('play', () => { if (!frame) frame = requestAnimationFrame(tick); });
    wave.addEventListener('click', (event) => {
      const box = wave.getBoundingClientRect();
      player.seek(((event.clientX - box.left) / box.width) * totalMs);
    });
    wave.addEventListener('keydown', (event) => {
      const steps = { ArrowLeft: -5000, ArrowRight: 5000, PageDown: -30000, PageUp: 30000 };
      if (event.key in steps) player.seek(player.time() + steps[event.key]);
      else if (event.key === 'Home') player.seek(0);
      else if (event.key === 'End') player.seek(totalMs - 100);
      else if (event.key === ' ' || event.key === 'Enter') (audio.paused ? audio.play() : audio.pause());
      else return;
      event.preventDefault();
    });
  }
  for (const item of lineItems) {
    item.li.querySelector('.ts').addEventListener('keydown', (event) => {
      if (event.key === ' ' && audio) {
        event.preventDefault();
        player.seek(item.start + 1);
        audio.play();
      }
    });
  }

  const scorePanel = h('section', { class: 'card', 'data-testid': 'scorecard', 'aria-labelledby': 'score-h' },
    h('h2', { id: 'score-h' }, 'Scorecard'), h('p', { class: 'muted' }, 'Loading…'));
  const commentPanel = h('section', { class: 'card', 'data-testid': 'comments', 'aria-labelledby': 'comments-h' },
    h('h2', { id: 'comments-h' }, 'Comments'), h('p', { class: 'muted' }, 'Loading…'));

  replace(main,
    head(call),
    h('div', { class: 'call-grid' },
      h('div', { class: 'col-main' },
        h('section', { class: 'card player', 'data-testid': 'player', 'aria-label': 'Recording' },
          audio, wave, timeline, waveNote),
        h('section', { class: 'card', 'aria-labelledby': 'transcript-h' },
          h('div', { class: 'card-head' }, h('h2', { id: 'transcript-h' }, 'Transcript'),
            h('span', { class: 'muted' }, 'Click a line to play from there')),
          transcriptList)),
      h('div', { class: 'col-side' },
        scorePanel,
        commentPanel,
        handoffPanel(handoff, origin),
        eventsPanel(events, origin, player))));
  redraw();
  update();

  const resized = new ResizeObserver(() => {
    redraw();
    if (wav) draw(canvas, wav);
  });
  resized.observe(wave);

  if (audio) {
    fetch(call.recording_url, { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((buffer) => {
        if (!current()) return;
        wav = parseWav(buffer);
        totalMs = Math.max(wav.seconds * 1000, 1000);
        wave.setAttribute('aria-valuemax', Math.round(totalMs / 1000));
        draw(canvas, wav);
        redraw();
        update();
        waveNote.textContent = `${clock(totalMs)} recorded · caller above the line, bot and agent below`;
        wave.dataset.ready = 'true';
      })
      .catch((e) => { waveNote.textContent = `The waveform cannot be drawn: ${e.message}`; });
  }
  scorecardPanel(scorePanel, { id, me, current });
  commentsPanel(commentPanel, { id, player, current });

  return () => {
    resized.disconnect();
    if (frame) cancelAnimationFrame(frame);
    if (audio) {
      audio.pause();
      audio.removeAttribute('src');
    }
  };
}
