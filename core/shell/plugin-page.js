// A plugin's page: one URL scheme for the host's sections and the plugin's
// own admin pages, all under /admin/plugins/{slug}/…, with the plugin's
// actions at the top of the overview.
//
//   /admin/plugins/{slug}            the plugin's own root page if it has
//                                    one, else the overview
//   /admin/plugins/{slug}/overview   state, actions, what it may do, readme
//   …/settings …/access …/jobs …/events …/metrics …/audit
//   /admin/plugins/{slug}{path}      its own admin pages (a host section
//                                    of the same name comes first)

import { api, h, flash, ApiError } from './api.js';
import { schemaForm } from './schema-form.js';
import { routesTable, permissionsSection } from './access.js';
import { when, setTitle, plural } from './format.js';
import { badge, enableSwitch, confirmUninstall } from './views.js';
import { duration, barChart, historyCharts } from './charts.js';
import { markdown } from './markdown.js';
import { mount } from './contributions.js';

/** The host's sections, in tab order. */
export const TABS = [
  ['overview', 'Overview'], ['settings', 'Settings'], ['access', 'Access'], ['jobs', 'Jobs'],
  ['events', 'Events'], ['metrics', 'Metrics'], ['audit', 'Audit'],
];

/** A job's last three runs: outcome, when, where; `—` when none. */
function lastRuns(runs) {
  const shown = (runs || []).slice(0, 3);
  if (!shown.length) return ['—'];
  return shown.flatMap((r, i) => [i ? '; ' : '', `${r.outcome} `, when(r.started_at), r.replica ? ` on ${r.replica}` : '']);
}

/** What each replica runs of plugin `p`: its version there and whether it is live. */
function onEachReplica(p, { this: here, replicas }) {
  return [h('h2', {}, 'On each replica'),
    h('table', { 'data-on-replicas': '' }, h('thead', {}, h('tr', {}, ...['Replica', 'Version', 'Live', 'Calls', 'Errors', 'Panics'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...replicas.map(r => {
        const there = (r.plugins || []).find(x => x.slug === p.slug);
        const other = there && there.version !== p.version;
        const m = (r.metrics || {})[p.slug] || {};
        return h('tr', { 'data-replica': r.name },
          h('td', {}, r.name, r.name === here ? h('span', { class: 'hint' }, ' (this one)') : '', r.alive ? '' : h('span', { class: 'hint' }, ' (gone)')),
          h('td', {}, there ? (other ? h('span', { class: 'error-text' }, `${there.version} (recorded: ${p.version})`) : there.version) : 'not loaded'),
          h('td', {}, there && there.live ? 'yes' : 'no'),
          h('td', {}, String(m.calls ?? 0)), h('td', {}, String(m.errors ?? 0)), h('td', {}, String(m.panics ?? 0)));
      })))];
}

/** Each entry point with its deadline, failure policy and figures. */
function callsSection(p) {
  const lane = p.lane;
  return [
    h('h2', {}, 'Calls'),
    lane ? h('p', { 'data-lane': '' }, `Capacity: ${lane.in_use} of ${lane.capacity} calls running${lane.stuck ? `, ${lane.stuck} stuck past their deadline` : ''}.`) : '',
    (p.calls || []).length
      ? h('table', { 'data-calls': '' }, h('thead', {}, h('tr', {}, ...['Call', 'Deadline', 'On failure', 'Calls', 'Errors', 'Panics', 'p50', 'p99', 'Deadline hits', 'Busy (503)'].map(t => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, ...p.calls.map(c => h('tr', { 'data-call': `${c.kind} ${c.name}` },
          h('td', {}, `${c.kind} ${c.name}`), h('td', {}, duration(c.deadline_ms * 1000)),
          h('td', {}, c.on_failure || '—'), h('td', {}, String(c.calls)), h('td', {}, String(c.errors)),
          h('td', {}, String(c.panics)), h('td', {}, duration(c.p50_us)), h('td', {}, duration(c.p99_us)),
          h('td', {}, String(c.deadline_hits)), h('td', {}, String(c.busy))))))
      : h('p', { class: 'hint' }, 'No calls yet.'),
  ];
}

/** `account 3 (alice)` → `alice`; other actors as they are. */
export function actorWords(actor) {
  const m = /^account \d+ \((.*)\)$/.exec(actor || '');
  if (m) return m[1];
  return actor === 'admin token' ? 'the admin token' : actor || 'unknown';
}

/** One audit row in words: a transition, or a note (same state). */
export function auditLine(a) {
  const note = a.from === a.to && a.error;
  return h('li', { 'data-audit-row': '' }, when(a.at), ': ',
    note ? a.error : `${a.from || 'new'} → ${a.to}`,
    ' — by ', h('strong', { 'data-actor': '' }, actorWords(a.actor)),
    !note && a.error ? h('span', { class: 'error-text' }, ` (${a.error})`) : '');
}

/** The page of plugin `slug` at section `tab` (or one of its own pages). */
export async function pluginPage(main, slug, tab, ctx, ownPage = null) {
  const p = await api('GET', `/api/admin/plugins/${slug}`);
  const name = p.name || p.slug;
  const own = ctx.manifest.contributions.filter(c => c.kind === 'admin_page' && c.plugin === slug);
  const current = ownPage ? ownPage.route : `/admin/plugins/${slug}/${tab}`;
  const tabs = h('nav', { class: 'tabs', 'aria-label': `${name} sections` },
    ...[...TABS.map(([t, label]) => [`/admin/plugins/${slug}/${t}`, label]), ...own.map(c => [c.route, c.title])]
      .map(([href, label]) => h('a', { href, 'data-link': true }, label)));
  for (const a of tabs.querySelectorAll('a')) if (a.getAttribute('href') === current) a.setAttribute('aria-current', 'page');
  const body = h('div', { class: 'tab-body' });
  main.replaceChildren(
    h('p', { class: 'crumbs' }, h('a', { href: '/admin/plugins', 'data-link': true }, 'Plugins'), ' › ', name),
    h('div', { class: 'plugin-head' },
      h('h1', {}, name, ' ', badge(p.state)),
      p.description ? h('p', { class: 'description' }, p.description) : ''),
    tabs, body);
  if (ownPage) {
    setTitle(ownPage.title, name);
    // Not awaited: the plugin's module shows its own progress and errors,
    // and must not hold the shell's drawing.
    mount(body, ownPage, { path: ownPage.route });
    return;
  }
  const label = (TABS.find(t => t[0] === tab) || TABS[0])[1];
  setTitle(label, name);
  await SECTIONS[tab](body, p, ctx);
}

const SECTIONS = {
  overview, settings, access, jobs, events, metrics, audit,
};

/** State, actions, what it may do, readme and changelog. */
async function overview(body, p, ctx) {
  const [replicas, queue] = await Promise.all([
    api('GET', '/api/admin/replicas').catch(() => ({ shared: false, replicas: [] })),
    p.kind === 'dynamic' ? api('GET', '/api/admin/updates').catch(() => ({ updates: [] })) : { updates: [] },
  ]);
  const update = (queue.updates || []).find(u => u.slug === p.slug && (u.state === 'pending' || u.state === 'needs_approval'));
  const act = (label, attrs, run) => h('button', { type: 'button', id: `action-${attrs['data-action']}`, ...attrs, onclick: async (ev) => {
    const button = ev.currentTarget;
    button.disabled = true;
    try { flash(await run()); } catch (e) { flash(`${label} failed: ${e.message}`, true); }
    await ctx.refresh(button.id);
  } }, label);
  const actions = [h('div', { class: 'action' }, enableSwitch(p, ctx, 'plugin-enabled'))];
  if (update) {
    actions.push(update.state === 'needs_approval'
      ? h('a', { class: 'button', href: '/admin/marketplace#updates', 'data-link': true, 'data-action': 'approve' }, `Review update to ${update.to_version} (needs approval)`)
      : act(`Update to ${update.to_version}`, { class: 'primary', 'data-action': 'update' }, async () => {
        await api('POST', `/api/admin/updates/${update.id}/apply`);
        return `${p.slug} updated to ${update.to_version}`;
      }));
  }
  if (p.kind === 'dynamic' && p.previous_version) {
    actions.push(act(`Roll back to ${p.previous_version}`, { 'data-action': 'rollback' }, async () => {
      const r = await api('POST', `/api/admin/plugins/${p.slug}/rollback`);
      return `${p.slug} is back at ${r.to_version}`;
    }));
  }
  if (p.state === 'errored') {
    actions.push(act('Reset', { 'data-action': 'reset' }, async () => {
      await api('POST', `/api/admin/plugins/${p.slug}/reset`);
      return `${p.slug} reset`;
    }));
  }
  if (p.kind === 'dynamic') {
    actions.push(h('button', { type: 'button', class: 'danger', 'data-action': 'uninstall',
      onclick: () => confirmUninstall(p, ctx, () => ctx.navigate('/admin/plugins')) }, 'Uninstall'));
  }
  const bundle = p.bundle;
  body.append(
    h('div', { class: 'actions', role: 'group', 'aria-label': 'Actions' }, ...actions),
    p.last_error ? h('p', { class: 'error-text', role: 'alert' }, p.last_error) : '',
    h('dl', { class: 'kv' },
      h('dt', {}, 'Version'), h('dd', { 'data-version': '' }, p.version),
      h('dt', {}, 'Kind'), h('dd', {}, p.kind === 'builtin' ? 'built in' : p.kind),
      h('dt', {}, 'plugin-api'), h('dd', {}, p.api_version || '—'),
      h('dt', {}, 'Previous version'), h('dd', {}, p.previous_version || '—'),
      h('dt', {}, 'Needs'), h('dd', {}, (p.dependencies || []).map(d => `${d.slug} ${d.version}`).join(', ') || '—'),
      h('dt', {}, 'Bundle'), h('dd', {}, bundle ? `sha256 ${bundle.sha256.slice(0, 12)}…${bundle.key_id ? `, signed by key ${bundle.key_id}` : ', unsigned'}` : '—'),
      ...(p.kind === 'dynamic' ? [h('dt', {}, 'Library builds in memory'), h('dd', { 'data-mapped-images': p.mapped_images },
        String(p.mapped_images), p.mapped_images > p.mapped_images_cap
          ? h('span', { class: 'error-text' }, ` — more than ${p.mapped_images_cap}: restart the server to release the old ones`) : '')] : [])),
    h('h2', {}, 'It may'),
    p.capabilities_inferred ? h('p', { class: 'hint', 'data-capabilities-inferred': '' }, 'Inferred from the plugin\'s code: its manifest, written for an older host, declares none.') : '',
    !p.loaded ? h('p', { class: 'hint' }, 'Unknown: its code is not loaded.')
      : (p.asks || []).length ? h('ul', { class: 'asks', 'data-capabilities': '' }, ...p.asks.map(a => h('li', { 'data-ask': a.id }, a.words)))
        : h('p', { class: 'hint', 'data-capabilities': '' }, 'Nothing beyond running: no storage, routes, events or network.'),
    ...(replicas.shared ? onEachReplica(p, replicas) : []),
    p.readme ? h('section', { 'data-readme': '' }, h('h2', {}, 'Readme'), markdown(p.readme, { dropTitle: true, top: 3 })) : '',
    p.changelog ? h('details', {}, h('summary', {}, 'Changelog'), markdown(p.changelog, { dropTitle: true, top: 3 })) : '');
}

/** The generated configuration form, or a sentence saying there is none. */
async function settings(body, p) {
  const config = await api('GET', `/api/admin/plugins/${p.slug}/config`).catch(() => null);
  if (!config || !config.schema) {
    body.append(h('p', { 'data-no-settings': '' }, `${p.name || p.slug} has no settings.`));
    return;
  }
  const form = schemaForm(config.schema, config.config);
  const save = h('button', { class: 'primary', type: 'submit' }, 'Save settings');
  form.append(h('p', {}, save));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('PUT', `/api/admin/plugins/${p.slug}/config`, form.read());
      form.showViolations([]);
      flash('Settings saved');
    } catch (e) {
      if (e instanceof ApiError && e.details && e.details.violations) {
        form.showViolations(e.details.violations);
        flash(`Not saved: ${plural(e.details.violations.length, 'field needs', 'fields need')} attention`, true);
      } else flash(`Not saved: ${e.message}`, true);
    }
  });
  body.append(form);
}

/** Who may call its routes, its permissions, its UI. */
async function access(body, p) {
  const permissions = await permissionsSection(p.slug);
  body.append(
    h('h2', {}, 'Routes'), routesTable(p.routes),
    (p.routes || []).length ? h('p', {}, h('a', { href: `/admin/api/${p.slug}`, 'data-link': true }, 'API reference')) : '',
    ...permissions,
    h('h2', {}, 'UI contributions'), (p.ui || []).length
      ? h('ul', {}, ...p.ui.map(c => h('li', {}, `${c.kind.replace('_', ' ')} “${c.title}” in ${c.slot}${c.route ? ` at ${c.route}` : ''}`)))
      : h('p', { class: 'hint' }, 'None live.'));
}

/** Its scheduled jobs and their last runs. */
async function jobs(body, p) {
  const { jobs: list } = await api('GET', `/api/admin/plugins/${p.slug}/jobs`).catch(() => ({ jobs: [] }));
  body.append(list && list.length
    ? h('table', {}, h('thead', {}, h('tr', {}, ...['Job', 'Schedule', 'Next run', 'Last runs'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...list.map(j => h('tr', {}, h('td', {}, j.name), h('td', {}, h('code', {}, j.schedule)), h('td', {}, when(j.next_run)),
        h('td', {}, ...lastRuns(j.recent_runs))))))
    : h('p', { class: 'hint' }, 'No scheduled jobs.'));
}

/** What it sends and receives, and how its handlers fared. */
async function events(body, p) {
  const asks = (p.asks || []).filter(a => /^(emit|subscribe|cluster):/.test(a.id));
  const handlers = (p.calls || []).filter(c => ['event', 'hook', 'filter'].includes(c.kind));
  body.append(
    h('h2', {}, 'Declared'),
    asks.length ? h('ul', { class: 'asks' }, ...asks.map(a => h('li', {}, a.words))) : h('p', { class: 'hint' }, 'It neither sends nor receives events.'),
    (p.hooks || []).length ? [h('h2', {}, 'Hooks'), h('ul', {}, ...p.hooks.map(x => h('li', {}, h('code', {}, x.hook), ` (priority ${x.priority})`)))] : '',
    h('h2', {}, 'Handled so far'),
    handlers.length
      ? h('table', {}, h('thead', {}, h('tr', {}, ...['Handler', 'Calls', 'Errors', 'p99'].map(t => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, ...handlers.map(c => h('tr', {}, h('td', {}, `${c.kind} ${c.name}`), h('td', {}, String(c.calls)),
          h('td', {}, String(c.errors)), h('td', {}, duration(c.p99_us))))))
      : h('p', { class: 'hint' }, 'No event, hook or filter call yet.'));
}

/** Figures, history, calls. */
async function metrics(body, p) {
  const m = p.metrics || { calls: 0, errors: 0, panics: 0, p50_us: 0, p99_us: 0, max_us: 0 };
  body.append(
    h('div', { class: 'charts' },
      barChart('Calls', [['calls', m.calls], ['errors', m.errors], ['panics', m.panics]], ''),
      barChart('Latency', [['p50', m.p50_us], ['p99', m.p99_us], ['max', m.max_us]], ' µs')),
    h('h2', {}, 'Recent history'), historyCharts(p.metrics_history),
    ...callsSection(p));
}

/** Who did what to it, newest first. */
async function audit(body, p) {
  const { entries } = await api('GET', `/api/admin/audit?plugin=${p.slug}&limit=50`);
  body.append(entries.length
    ? h('ul', { class: 'audit', 'data-audit': '' }, ...entries.map(auditLine))
    : h('p', { class: 'hint' }, 'Nothing recorded yet.'));
}
