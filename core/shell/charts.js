// Small SVG charts for a plugin's figures: bars, sparklines over the
// sampled history, and durations in words.

import { h } from './api.js';

/** Microseconds, readably. */
export function duration(us) {
  if (us >= 1e6) return `${(us / 1e6).toFixed(1)} s`;
  if (us >= 1e3) return `${(us / 1e3).toFixed(1)} ms`;
  return `${Math.round(us)} µs`;
}

export function barChart(title, bars, unit) {
  const max = Math.max(1, ...bars.map(b => b[1]));
  const w = 220, row = 18;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', w); svg.setAttribute('height', bars.length * row + 4);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${title}: ${bars.map(b => `${b[0]} ${b[1]}${unit}`).join(', ')}`);
  bars.forEach(([label, v], i) => {
    const r = document.createElementNS(svg.namespaceURI, 'rect');
    r.setAttribute('x', 70); r.setAttribute('y', i * row + 2); r.setAttribute('height', row - 6);
    r.setAttribute('width', Math.max(1, (v / max) * (w - 140))); r.setAttribute('fill', label === 'panics' || label === 'errors' ? '#b3261e' : '#2457c5');
    const t = document.createElementNS(svg.namespaceURI, 'text');
    t.setAttribute('x', 0); t.setAttribute('y', i * row + 13); t.setAttribute('font-size', 11); t.textContent = label;
    const n = document.createElementNS(svg.namespaceURI, 'text');
    n.setAttribute('x', 74 + Math.max(1, (v / max) * (w - 140))); n.setAttribute('y', i * row + 13); n.setAttribute('font-size', 11);
    n.textContent = `${Math.round(v * 10) / 10}${unit}`;
    svg.append(r, t, n);
  });
  return h('figure', {}, svg, h('figcaption', {}, title));
}

/** A line over the last samples (oldest left); `bad` draws it red. */
export function sparkline(title, values, bad = false) {
  const w = 220, ht = 44;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', w); svg.setAttribute('height', ht);
  svg.setAttribute('role', 'img');
  const last = values.length ? values[values.length - 1] : 0;
  const max = Math.max(0, ...values);
  const round = (v) => Math.round(v * 10) / 10;
  svg.setAttribute('aria-label', `${title}: ${values.length} samples, latest ${round(last)}, highest ${round(max)}`);
  const frame = document.createElementNS(svg.namespaceURI, 'rect');
  frame.setAttribute('x', 0.5); frame.setAttribute('y', 0.5); frame.setAttribute('width', w - 1); frame.setAttribute('height', ht - 1);
  frame.setAttribute('fill', '#fff'); frame.setAttribute('stroke', '#d0d4dc');
  svg.append(frame);
  if (values.length) {
    // One sample is drawn as a level line across the chart.
    const points = values.length > 1 ? values : [values[0], values[0]];
    const step = (w - 4) / (points.length - 1);
    const y = (v) => ht - 3 - (max > 0 ? (v / max) * (ht - 8) : 0);
    const line = document.createElementNS(svg.namespaceURI, 'polyline');
    line.setAttribute('points', points.map((v, i) => `${2 + i * step},${y(v)}`).join(' '));
    line.setAttribute('fill', 'none'); line.setAttribute('stroke-width', 1.8);
    line.setAttribute('stroke', bad ? '#b3261e' : '#2457c5');
    svg.append(line);
  }
  return h('figure', { 'data-series': title }, svg, h('figcaption', {}, `${title} — latest ${round(last)}, highest ${round(max)}`));
}

/** The history's sparklines (one sample per sampling interval). */
export function historyCharts(history) {
  if (!history || !history.length) return h('p', { class: 'hint' }, 'No history yet: the runtime samples every 10 seconds.');
  const secs = history.length > 1 ? Math.round((Date.parse(history[history.length - 1].at) - Date.parse(history[history.length - 2].at)) / 1000) : 10;
  return h('div', { class: 'charts' },
    sparkline(`Calls per ${secs} s`, history.map(s => s.calls)),
    sparkline(`Errors per ${secs} s`, history.map(s => s.errors), true),
    sparkline('p99 latency (µs)', history.map(s => s.p99_us)));
}
