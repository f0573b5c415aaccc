// Words and times as people read them: plurals, times relative and in the
// reader's time zone with the exact time on hover, and a title per page.

import { h } from './api.js';

/** `1 entry`, `2 entries`: the count with the right form of the noun. */
export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

const UNITS = [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60], ['second', 1]];

/** "3 minutes ago", "in 2 hours", "now", in the browser's language. */
export function relative(date, now = Date.now()) {
  const secs = Math.round((date.getTime() - now) / 1000);
  if (Math.abs(secs) < 5) return 'now';
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  for (const [unit, size] of UNITS) {
    if (Math.abs(secs) >= size) return format.format(Math.round(secs / size), unit);
  }
  return format.format(secs, 'second');
}

/** A `<time>` for an ISO timestamp from the server (nanoseconds allowed):
 *  relative, with the exact local time on hover; `—` when there is none. */
export function when(iso) {
  if (!iso) return '—';
  // The server may send nine fractional digits; Date reads three.
  const date = new Date(String(iso).replace(/(\.\d{3})\d+/, '$1'));
  if (Number.isNaN(date.getTime())) return String(iso);
  return h('time', { datetime: iso, title: date.toLocaleString() }, relative(date));
}

/** The document's title: `Plugins · Plugboard`. */
export function setTitle(...parts) {
  document.title = [...parts.filter(Boolean), 'Plugboard'].join(' · ');
}
