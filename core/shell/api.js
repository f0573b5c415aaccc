// The admin API from the browser: JSON in and out, the session cookie, and
// the CSRF token on every request that changes state.

let csrf = null;

/** Remembers the session's CSRF token. */
export function setCsrf(token) { csrf = token; }

/** An error answer: status, code, message and details from the server. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || 'http_' + status;
    this.details = e.details || null;
  }
}

/** `method path` with an optional JSON body; the parsed answer. */
export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** Builds an element: h('button', {class: 'x', onclick}, 'text', child…). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Shows a notification (`bad` for errors) in the corner, over the page:
 *  the layout never moves. It goes after a while, or when the page changes;
 *  errors stay until dismissed or the page changes. */
export function flash(message, bad = false) {
  const area = document.getElementById('toasts');
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss' }, '×');
  const toast = h('div', { class: bad ? 'toast bad' : 'toast', role: bad ? 'alert' : 'status' },
    h('span', {}, message), close);
  close.addEventListener('click', () => toast.remove());
  area.append(toast);
  while (area.children.length > 4) area.firstElementChild.remove();
  if (!bad) setTimeout(() => toast.remove(), 6000);
}

/** Removes every notification (on navigation). */
export function clearToasts() {
  document.getElementById('toasts').replaceChildren();
}
