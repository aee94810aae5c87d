// Small SVG charts drawn here (no library): grouped bars and lines over labelled categories,
// with gridlines at round values, a legend, and a <title> on every bar and point.

import { s } from './dom.js';

const W = 560;
const H = 230;
const PAD = { left: 52, right: 12, top: 14, bottom: 46 };

/** A round upper bound and tick step for values up to `max`. */
function scale(max) {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((v) => v >= rough);
  return { top: Math.ceil(max / step) * step, step };
}

function frame({ labels, series, format, title, fixedTop }) {
  const values = series.flatMap((sr) => sr.values).filter((v) => typeof v === 'number');
  const { top, step } = fixedTop ? { top: fixedTop, step: fixedTop / 4 } : scale(Math.max(0, ...values));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const y = (v) => PAD.top + plotH - (v / top) * plotH;
  const parts = [s('title', {}, title)];
  for (let v = 0; v <= top + step / 2; v += step) {
    parts.push(s('line', { class: 'grid', x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }),
      s('text', { class: 'tick-label', x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v)));
  }
  // Category labels: every one when they fit, else every n-th.
  const slot = plotW / Math.max(1, labels.length);
  const every = Math.max(1, Math.ceil(60 / slot));
  labels.forEach((label, i) => {
    if (i % every) return;
    const text = String(label);
    parts.push(s('text', { class: 'tick-label', x: PAD.left + slot * (i + 0.5), y: H - PAD.bottom + 16, 'text-anchor': 'middle' },
      text.length > 12 ? `${text.slice(0, 11)}…` : text));
  });
  if (series.length > 1) {
    series.forEach((sr, i) => {
      const lx = PAD.left + i * 150;
      parts.push(s('rect', { class: `swatch series-${i}`, x: lx, y: H - 14, width: 10, height: 10 }),
        s('text', { class: 'legend', x: lx + 14, y: H - 5 }, sr.name));
    });
  }
  return { parts, y, slot, plotW };
}

function svg(title, testid, parts) {
  return s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, 'data-testid': testid }, parts);
}

/** Grouped vertical bars: one group per label, one bar per series. */
export function barChart({ title, testid, labels, series, format, fixedTop }) {
  const { parts, y, slot } = frame({ labels, series, format, title, fixedTop });
  const bar = (slot * 0.8) / series.length;
  series.forEach((sr, si) => sr.values.forEach((v, i) => {
    if (typeof v !== 'number') return;
    const x = PAD.left + slot * i + slot * 0.1 + bar * si;
    parts.push(s('rect', { class: `bar series-${si}`, x, y: y(v), width: Math.max(1, bar - 1), height: Math.max(0, y(0) - y(v)) },
      s('title', {}, `${labels[i]} · ${sr.name}: ${format(v)}`)));
  }));
  return svg(title, testid, parts);
}

/** Lines through each series' values (gaps where a value is missing). */
export function lineChart({ title, testid, labels, series, format, fixedTop }) {
  const { parts, y, slot } = frame({ labels, series, format, title, fixedTop });
  series.forEach((sr, si) => {
    let d = '';
    let pen = 'M';
    sr.values.forEach((v, i) => {
      if (typeof v !== 'number') {
        pen = 'M';
        return;
      }
      d += `${pen}${(PAD.left + slot * (i + 0.5)).toFixed(1)},${y(v).toFixed(1)} `;
      pen = 'L';
    });
    if (d) parts.push(s('path', { class: `line series-${si}`, d }));
    sr.values.forEach((v, i) => {
      if (typeof v !== 'number') return;
      parts.push(s('circle', { class: `dot series-${si}`, cx: PAD.left + slot * (i + 0.5), cy: y(v), r: 3 },
        s('title', {}, `${labels[i]} · ${sr.name}: ${format(v)}`)));
    });
  });
  return svg(title, testid, parts);
}
