// How times, durations, scores and labels are written on every page.

/** Frustration at or above this is an angry caller (the assistant hands over at 0.7). */
export const ANGRY = 0.7;
/** Frustration at or above this is a tense caller. */
export const TENSE = 0.4;

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', second: '2-digit',
});

/** A time stamp in the reader's time zone. */
export function dateTime(iso) {
  return iso ? dateTimeFormat.format(new Date(iso)) : '—';
}

/** A position in a recording: 1:05.3 (or 1:02:05 past an hour). */
export function clock(ms) {
  const sign = ms < 0 ? '−' : '';
  const total = Math.abs(ms) / 1000;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) return `${sign}${h}:${String(m).padStart(2, '0')}:${String(Math.floor(sec)).padStart(2, '0')}`;
  return `${sign}${m}:${sec.toFixed(1).padStart(4, '0')}`;
}

/** A length of time: 45 s, 3 min 05 s, 1 h 02 min. */
export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  const secs = Math.round(ms / 1000);
  if (secs < 60) return `${secs} s`;
  if (secs < 3600) return `${Math.floor(secs / 60)} min ${String(secs % 60).padStart(2, '0')} s`;
  return `${Math.floor(secs / 3600)} h ${String(Math.floor((secs % 3600) / 60)).padStart(2, '0')} min`;
}

/** A fraction 0..1 as a percentage. */
export function percent(fraction) {
  if (fraction === null || fraction === undefined) return '—';
  return `${(fraction * 100).toFixed(fraction < 0.1 && fraction > 0 ? 1 : 0)} %`;
}

/** A frustration score's level: 'angry', 'tense' or 'calm'. */
export function level(score) {
  if (score >= ANGRY) return 'angry';
  if (score >= TENSE) return 'tense';
  return 'calm';
}

/** Who speaks, for people. */
export function speaker(name) {
  return { caller: 'Caller', bot: 'Bot', agent: 'Agent' }[name] || name;
}

/** An event kind or outcome for people: caller_hangup -> caller hangup. */
export function words(name) {
  return name ? String(name).replaceAll('_', ' ') : '—';
}

/** A JSON value in one short line. */
export function brief(value, max = 140) {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
