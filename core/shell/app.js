// The admin shell: sign-in, navigation (with the plugins' menu items),
// routing in the browser, live updates over server-sent events.

import { api, h, flash, clearToasts, setCsrf, ApiError } from './api.js';
import { pluginsView } from './views.js';
import { pluginPage, TABS } from './plugin-page.js';
import { catalogView } from './catalog.js';
import { apiView } from './apidocs.js';
import { setTitle } from './format.js';
import { marketplaceView } from './marketplace.js';
import { settingsView } from './settings.js';
import { renderWidgets, pageFor, mount } from './contributions.js';
import { icon } from './icons.js';

const main = document.getElementById('main');
const ctx = { session: null, manifest: { contributions: [] }, refresh: (focus) => render(focus), navigate: (path) => navigate(path) };

/** Goes to `path`: a new page, so notifications go and focus moves to it. */
async function navigate(path) {
  history.pushState(null, '', path);
  clearToasts();
  await render();
  const heading = main.querySelector('h1');
  if (heading) { heading.setAttribute('tabindex', '-1'); heading.focus(); } else main.focus();
}

/** On narrow screens each table cell shows its column's heading. */
function labelCells(root) {
  for (const table of root.querySelectorAll('table')) {
    const heads = [...table.querySelectorAll('thead th')].map(th => th.textContent);
    for (const tr of table.querySelectorAll('tbody tr')) {
      [...tr.children].forEach((td, i) => { if (heads[i]) td.setAttribute('data-label', heads[i]); });
    }
  }
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[data-link]');
  if (a && !ev.ctrlKey && !ev.metaKey && !ev.shiftKey) { ev.preventDefault(); navigate(a.getAttribute('href')); }
});
window.addEventListener('popstate', () => { clearToasts(); render(); });

function showLogin(message) {
  document.getElementById('top').hidden = true;
  setTitle('Sign in');
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'field-error', role: 'alert', id: 'login-error' }, message || '');
  const form = h('form', { class: 'card login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'Sign in to Plugboard'),
    h('label', { for: 'username' }, 'Username'), user,
    h('label', { for: 'password' }, 'Password'), pass, error,
    h('p', {}, h('button', { class: 'primary', type: 'submit' }, 'Sign in')));
  // With self-registration on, the same form can create the account first.
  api('GET', '/api/auth/registration').then(({ open }) => {
    if (!open) return;
    form.append(h('p', {}, h('button', { type: 'button', id: 'register', onclick: async () => {
      error.textContent = '';
      try {
        // The filters may have changed the name: sign in with the one created.
        const created = await api('POST', '/api/auth/register', { username: user.value, password: pass.value });
        await start(await api('POST', '/api/auth/login', { username: created.username, password: pass.value }));
      } catch (e) { error.textContent = e.message; }
    } }, 'Create an account with this name and password')));
  }).catch(() => {});
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const s = await api('POST', '/api/auth/login', { username: user.value, password: pass.value });
      await start(s);
    } catch (e) {
      error.textContent = e.code === 'too_many_attempts' ? e.message : (e.status === 401 ? 'Wrong username or password.' : e.message);
      pass.value = '';
      pass.focus();
    }
  });
  main.replaceChildren(form);
  user.focus();
}

function showChangePassword(session) {
  setTitle('Choose your password');
  const current = h('input', { id: 'current-password', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const again = h('input', { id: 'repeat-password', type: 'password', autocomplete: 'new-password', required: true });
  const error = h('p', { class: 'field-error', role: 'alert' });
  const form = h('form', { class: 'card login', 'aria-labelledby': 'pw-title' },
    h('h1', { id: 'pw-title' }, 'Choose your password'),
    h('p', {}, 'You signed in with the one-time password printed at the first start. Choose your own.'),
    h('label', { for: 'current-password' }, 'One-time password'), current,
    h('label', { for: 'new-password' }, 'New password ', h('span', { class: 'hint' }, '(at least 8 characters)')), next,
    h('label', { for: 'repeat-password' }, 'New password again'), again, error,
    h('p', {}, h('button', { class: 'primary', type: 'submit' }, 'Save password')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (next.value !== again.value) { error.textContent = 'The two new passwords differ.'; again.focus(); return; }
    try {
      await api('POST', '/api/auth/password', { current_password: current.value, new_password: next.value });
      await start({ ...session, must_change_password: false });
    } catch (e) { error.textContent = e.message; }
  });
  main.replaceChildren(form);
  current.focus();
}

async function loadManifest() {
  ctx.manifest = await api('GET', '/api/ui/manifest');
}

function renderNav() {
  const admin = ctx.session.role === 'admin';
  const links = [];
  if (admin) {
    links.push(['/admin', 'Dashboard'], ['/admin/plugins', 'Plugins'], ['/admin/marketplace', 'Marketplace'], ['/admin/settings', 'Settings']);
  } else {
    links.push(['/admin', 'Dashboard']);
  }
  const items = ctx.manifest.contributions.filter(c => c.kind === 'menu_item');
  const nav = document.getElementById('nav');
  nav.replaceChildren(
    ...links.map(([href, label]) => h('a', { href, 'data-link': true }, label)),
    ...items.map(c => h('a', { href: c.route, 'data-link': true, 'data-menu-item': c.id },
      icon(c.icon, c.title), ' ', c.title)));
  for (const a of nav.querySelectorAll('a')) {
    if (a.getAttribute('href') === location.pathname) a.setAttribute('aria-current', 'page');
  }
  document.getElementById('who').textContent = `${ctx.session.username} (${ctx.session.role})`;
}

async function dashboard() {
  const admin = ctx.session.role === 'admin';
  main.replaceChildren(h('h1', {}, 'Dashboard'));
  if (admin) {
    main.append(h('h2', {}, 'Admin widgets'));
    renderWidgets(main, ctx.manifest, 'admin/dashboard/widgets/v1');
    main.append(h('h2', {}, 'Widgets'));
  }
  renderWidgets(main, ctx.manifest, 'dashboard/widgets/v1');
}

// One drawing at a time: a drawing started by a live update must not
// replace the page under one that is putting the focus back.
// A drawing that never ends (a request that hangs) must not hold the rest
// back: after 15 s the next one goes ahead anyway.
let drawing = Promise.resolve();
const DRAW_PATIENCE_MS = 15000;

// When the last drawing started, and whether the page is settled (no
// drawing running or waiting): `<html data-busy>` says so, for tests and
// tools that must not act on a page about to be replaced.
let drawnAt = 0;
let inFlight = 0;
let liveWaiting = false;
function markBusy() {
  document.documentElement.toggleAttribute('data-busy', inFlight > 0 || liveWaiting);
}

function render(focus) {
  inFlight += 1;
  markBusy();
  const next = () => {
    drawnAt = Date.now();
    return Promise.race([renderNow(focus), new Promise(r => setTimeout(r, DRAW_PATIENCE_MS))]);
  };
  drawing = drawing.then(next, next).finally(() => { inFlight -= 1; markBusy(); });
  return drawing;
}

async function renderNow(focus) {
  if (!ctx.session) return;
  // The control in use keeps the focus when the page is drawn again (a
  // toggle, an action): found again by its id. A control that was disabled
  // while its request ran lost the focus: it names itself (`focus`).
  const focused = focus || (document.activeElement && document.activeElement !== document.body ? document.activeElement.id : null);
  try {
    await draw();
  } finally {
    labelCells(main);
    if (focused) {
      const again = document.getElementById(focused);
      if (again && again !== document.activeElement) again.focus();
    }
  }
}

async function draw() {
  try {
    await loadManifest();
    renderNav();
    const path = location.pathname.replace(/\/$/, '') || '/admin';
    const page = pageFor(ctx.manifest, path);
    let m;
    if (path === '/admin') { setTitle('Dashboard'); await dashboard(); }
    else if (path === '/admin/plugins') { setTitle('Plugins'); await pluginsView(main, ctx); }
    else if (path === '/admin/marketplace') { setTitle('Marketplace'); await marketplaceView(main, ctx); }
    else if (path === '/admin/settings') { setTitle('Settings'); await settingsView(main, ctx); }
    else if ((m = path.match(/^\/admin\/detail\/([a-z0-9-]+)$/))) {
      // The old address of a plugin's page.
      history.replaceState(null, '', `/admin/plugins/${m[1]}/overview`);
      await pluginPage(main, m[1], 'overview', ctx);
    } else if ((m = path.match(/^\/admin\/marketplace\/([a-z0-9-]+)$/))) await catalogView(main, m[1], ctx);
    else if ((m = path.match(/^\/admin\/plugins\/([a-z0-9-]+)(?:\/([a-z0-9-]+))?$/)) && (TABS.some(t => t[0] === m[2]) || (!m[2] && !page))) {
      await pluginPage(main, m[1], m[2] || 'overview', ctx);
    } else if (page && page.kind === 'admin_page' && (m = path.match(/^\/admin\/plugins\/([a-z0-9-]+)/)) && page.plugin === m[1]) {
      await pluginPage(main, m[1], null, ctx, page);
    }
    else if ((m = path.match(/^\/admin\/api\/([a-z0-9-]+)$/))) { setTitle(`API of ${m[1]}`); await apiView(main, m[1]); }
    else if (page) {
      setTitle(page.title);
      const holder = h('div');
      main.replaceChildren(h('h1', {}, page.title), holder);
      await mount(holder, page, { path });
    } else {
      setTitle('Not found');
      main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, `Nothing lives at ${path} (a plugin page appears when its plugin is enabled).`));
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { ctx.session = null; showLogin('Your session has ended. Sign in again.'); return; }
    setTitle('Something went wrong');
    main.replaceChildren(h('h1', {}, 'Something went wrong'), h('p', { class: 'error-text' }, e.message));
  }
}

let events = null;
let pending = null;

function listen() {
  if (ctx.session.role !== 'admin' || events) return;
  events = new EventSource('/api/admin/stream');
  events.addEventListener('change', () => {
    // Several changes often come together: render once.
    const seen = Date.now();
    clearTimeout(pending);
    liveWaiting = true;
    markBusy();
    pending = setTimeout(() => {
      liveWaiting = false;
      markBusy();
      // A drawing that started after the change already shows it (the
      // page's own refresh after an action): not drawn twice.
      if (drawnAt > seen) return;
      // Do not throw away what the user is typing.
      if (document.activeElement && ['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement.tagName)
        && document.activeElement.type !== 'checkbox') return;
      render();
    }, 150);
  });
}

async function start(session) {
  setCsrf(session.csrf_token);
  if (session.must_change_password) { showChangePassword(session); return; }
  ctx.session = session;
  document.getElementById('top').hidden = false;
  listen();
  if (location.pathname === '/' || location.pathname === '') history.replaceState(null, '', '/admin');
  await render();
}

document.getElementById('signout').addEventListener('click', async () => {
  try { await api('POST', '/api/auth/logout'); } catch (e) { flash(e.message, true); }
  ctx.session = null;
  if (events) { events.close(); events = null; }
  showLogin('Signed out.');
});

api('GET', '/api/auth/session').then(start).catch(() => showLogin());
