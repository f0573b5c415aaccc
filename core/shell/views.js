// The plugins list and a plugin's detail page.

import { api, h, flash, ApiError } from './api.js';
import { schemaForm } from './schema-form.js';
import { routesTable, permissionsSection } from './access.js';
import { when, setTitle } from './format.js';

/** A job's last three runs: outcome, when, where; `—` when none. */
function lastRuns(runs) {
  const shown = (runs || []).slice(0, 3);
  if (!shown.length) return ['—'];
  return shown.flatMap((r, i) => [i ? '; ' : '', `${r.outcome} `, when(r.started_at), r.replica ? ` on ${r.replica}` : '']);
}

function badge(state) {
  return h('span', { class: `badge ${state}`, 'data-state': state }, state.replace('_', ' '));
}

/** Every plugin with its state, a toggle that follows the server, reset and uninstall. */
export async function pluginsView(main, ctx) {
  const [{ plugins, problems, safe_mode: safeMode, slowest }, replicas] = await Promise.all([
    api('GET', '/api/admin/plugins'),
    api('GET', '/api/admin/replicas').catch(() => ({ shared: false, replicas: [] })),
  ]);
  const rows = plugins.map(p => {
    const toggle = h('input', {
      type: 'checkbox', role: 'switch', id: `toggle-${p.slug}`,
      'aria-label': `Enabled: ${p.name || p.slug}`, 'data-toggle': p.slug,
    });
    toggle.checked = p.state === 'active';
    toggle.disabled = !['active', 'inactive', 'installed'].includes(p.state);
    toggle.addEventListener('change', async () => {
      const wanted = toggle.checked;
      toggle.disabled = true;
      try {
        await api('POST', `/api/admin/plugins/${p.slug}/${wanted ? 'enable' : 'disable'}`);
        flash(`${p.slug} ${wanted ? 'enabled' : 'disabled'}`);
      } catch (e) {
        toggle.checked = !wanted; // revert: the server said no
        flash(`Could not ${wanted ? 'enable' : 'disable'} ${p.slug}: ${e.message}`, true);
      }
      await ctx.refresh();
    });
    const actions = [];
    if (p.state === 'errored') {
      actions.push(h('button', { type: 'button', onclick: async () => {
        try { await api('POST', `/api/admin/plugins/${p.slug}/reset`); flash(`${p.slug} reset`); }
        catch (e) { flash(e.message, true); }
        await ctx.refresh();
      } }, 'Reset'));
    }
    if (p.kind === 'dynamic') {
      actions.push(h('button', { type: 'button', class: 'danger', onclick: () => confirmUninstall(p, ctx) }, 'Uninstall'));
    }
    return h('tr', { 'data-plugin': p.slug },
      h('td', {}, h('a', { href: `/admin/detail/${p.slug}`, 'data-link': true }, p.name || p.slug), h('div', { class: 'hint' }, p.slug)),
      h('td', {}, p.kind), h('td', { 'data-version': '' }, p.version), h('td', {}, badge(p.state)),
      h('td', {}, p.last_error ? h('span', { class: 'error-text' }, p.last_error) : ''),
      h('td', {}, h('label', { class: 'switch', for: toggle.id }, toggle, h('span', { class: 'hint' }, toggle.checked ? 'on' : 'off'))),
      h('td', {}, ...actions));
  });
  main.replaceChildren(
    h('h1', {}, 'Plugins'),
    safeMode ? h('p', { class: 'banner', role: 'status', 'data-safe-mode': '' },
      'Safe mode: no dynamic plugin was loaded or enabled. Their recorded states are unchanged; restart without --safe-mode to bring them back.') : '',
    h('table', {}, h('thead', {}, h('tr', {}, ...['Plugin', 'Kind', 'Version', 'State', 'Last error', 'Enabled', ''].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...rows)),
    slowestSection(slowest || []),
    replicas.shared ? replicasSection(replicas) : '',
    problems.length ? h('section', {}, h('h2', {}, 'Not loaded'), h('ul', {}, ...problems.map(p => h('li', { class: 'error-text' }, p.error)))) : '');
}

/** Every replica on this PostgreSQL database, from their heartbeats. */
function replicasSection({ this: here, replicas }) {
  return h('section', { 'data-replicas': '' }, h('h2', {}, 'Replicas'),
    h('table', {}, h('thead', {}, h('tr', {}, ...['Replica', 'Address', 'State', 'Host version', 'Plugins live', 'Last seen'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...replicas.map(r => h('tr', { 'data-replica': r.name },
        h('td', {}, r.name, r.name === here ? h('span', { class: 'hint' }, ' (this one)') : ''),
        h('td', {}, r.address || '—'),
        h('td', {}, h('span', { class: `badge ${r.alive ? 'active' : 'errored'}` }, r.alive ? 'alive' : 'gone')),
        h('td', {}, r.host_version),
        h('td', {}, String((r.plugins || []).filter(p => p.live).length)),
        h('td', {}, when(r.seen_at)))))));
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

/** The plugins whose slowest entry point has the highest p99 latency. */
function slowestSection(slowest) {
  return h('section', { 'data-slowest': '' }, h('h2', {}, 'Slowest plugins'),
    slowest.length
      ? h('table', {}, h('thead', {}, h('tr', {}, ...['Plugin', 'Slowest call', 'p99', 'Calls', 'Stuck'].map(t => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, ...slowest.map(s => h('tr', { 'data-slow': s.plugin },
          h('td', {}, h('a', { href: `/admin/detail/${s.plugin}`, 'data-link': true }, s.plugin)),
          h('td', {}, `${s.kind} ${s.name}`), h('td', {}, duration(s.p99_us)),
          h('td', {}, String(s.calls)), h('td', {}, String(s.stuck))))))
      : h('p', { class: 'hint' }, 'No calls yet.'));
}

/** Microseconds, readably. */
function duration(us) {
  if (us >= 1e6) return `${(us / 1e6).toFixed(1)} s`;
  if (us >= 1e3) return `${(us / 1e3).toFixed(1)} ms`;
  return `${Math.round(us)} µs`;
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

function confirmUninstall(p, ctx) {
  const keep = h('input', { type: 'radio', name: 'data', value: 'keep', id: 'data-keep', checked: true });
  const remove = h('input', { type: 'radio', name: 'data', value: 'remove', id: 'data-remove' });
  const dialog = h('dialog', { 'aria-labelledby': 'uninstall-title' },
    h('form', { method: 'dialog' },
      h('h2', { id: 'uninstall-title' }, `Uninstall ${p.name || p.slug}?`),
      h('label', { for: 'data-keep', class: 'switch' }, keep, 'Keep its data (tables, settings) for a reinstall'),
      h('label', { for: 'data-remove', class: 'switch' }, remove, 'Remove its data'),
      h('p', {}, h('button', { value: 'cancel' }, 'Cancel'), ' ', h('button', { value: 'ok', class: 'danger' }, 'Uninstall'))));
  document.body.append(dialog);
  dialog.addEventListener('close', async () => {
    const ok = dialog.returnValue === 'ok';
    const data = remove.checked ? 'remove' : 'keep';
    dialog.remove();
    if (!ok) return;
    try {
      await api('DELETE', `/api/admin/plugins/${p.slug}?data=${data}`);
      flash(`${p.slug} uninstalled (data ${data === 'keep' ? 'kept' : 'removed'})`);
    } catch (e) { flash(`Could not uninstall ${p.slug}: ${e.message}`, true); }
    await ctx.refresh();
  });
  dialog.showModal();
}

function barChart(title, bars, unit) {
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

/** What the manifest grants, one row per capability. */
function capabilityList(c) {
  if (!c) return h('p', { class: 'hint' }, 'Unknown: the plugin\'s code is not loaded.');
  const yes = (v) => (v ? 'granted' : '—');
  const list = (v) => (v && v.length ? v.join(', ') : '—');
  const events = c.events || {};
  const rows = [
    ['Key-value storage', yes(c.kv)], ['SQL tables', yes(c.sql)], ['API routes', yes(c.routes)],
    ['Scheduled jobs', yes(c.cron)], ['Admin UI', yes(c.ui)],
    ['Emits events', list(events.emit)], ['Subscribes to events', list(events.subscribe)],
    ...(events.cluster && events.cluster.length ? [['Emits to every replica', list(events.cluster)]] : []),
    ['Outbound network', list(c.network)],
  ];
  return h('div', { class: 'kv', 'data-capabilities': '' }, ...rows.flatMap(([k, v]) => [h('span', {}, k), h('span', {}, v)]));
}

/** A line over the last samples (oldest left); `bad` draws it red. */
function sparkline(title, values, bad = false) {
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
function historyCharts(history) {
  if (!history || !history.length) return h('p', { class: 'hint' }, 'No history yet: the runtime samples every 10 seconds.');
  const secs = history.length > 1 ? Math.round((Date.parse(history[history.length - 1].at) - Date.parse(history[history.length - 2].at)) / 1000) : 10;
  return h('div', { class: 'charts' },
    sparkline(`Calls per ${secs} s`, history.map(s => s.calls)),
    sparkline(`Errors per ${secs} s`, history.map(s => s.errors), true),
    sparkline('p99 latency (µs)', history.map(s => s.p99_us)));
}

/** A plugin: manifest, capabilities, routes, UI, jobs, audit, metrics, config. */
export async function detailView(main, slug, ctx) {
  const p = await api('GET', `/api/admin/plugins/${slug}`);
  const [jobs, audit, config, permissions, replicas] = await Promise.all([
    api('GET', `/api/admin/plugins/${slug}/jobs`).catch(() => ({ jobs: [] })),
    api('GET', `/api/admin/audit?plugin=${slug}&limit=20`),
    api('GET', `/api/admin/plugins/${slug}/config`).catch(() => null),
    permissionsSection(slug),
    api('GET', '/api/admin/replicas').catch(() => ({ shared: false, replicas: [] })),
  ]);
  setTitle(p.name || p.slug);
  const m = p.metrics || { calls: 0, errors: 0, panics: 0, p50_us: 0, p99_us: 0, max_us: 0 };
  const sections = [
    h('h1', {}, p.name || p.slug, ' ', badge(p.state)),
    p.description ? h('p', {}, p.description) : '',
    p.last_error ? h('p', { class: 'error-text', role: 'alert' }, p.last_error) : '',
    h('div', { class: 'kv' },
      h('span', {}, 'Slug'), h('span', {}, p.slug), h('span', {}, 'Version'), h('span', {}, p.version),
      h('span', {}, 'Kind'), h('span', {}, p.kind), h('span', {}, 'plugin-api'), h('span', {}, p.api_version || '—'),
      h('span', {}, 'Previous version'), h('span', {}, p.previous_version || '—'),
      h('span', {}, 'Dependencies'), h('span', {}, (p.dependencies || []).map(d => `${d.slug} ${d.version}`).join(', ') || '—')),
    ...(replicas.shared ? onEachReplica(p, replicas) : []),
    h('h2', {}, 'Capabilities'),
    p.capabilities_inferred ? h('p', { class: 'hint', 'data-capabilities-inferred': '' }, 'Inferred from the plugin\'s code: its manifest, written for an older host, declares none.') : '',
    capabilityList(p.capabilities),
    h('h2', {}, 'Routes'), routesTable(p.routes),
    (p.routes || []).length ? h('p', {}, h('a', { href: `/admin/api/${p.slug}`, 'data-link': true }, 'API reference')) : '',
    ...permissions,
    h('h2', {}, 'UI contributions'), (p.ui || []).length
      ? h('ul', {}, ...p.ui.map(c => h('li', {}, `${c.kind.replace('_', ' ')} “${c.title}” in ${c.slot}${c.route ? ` at ${c.route}` : ''}`)))
      : h('p', { class: 'hint' }, 'None live.'),
    h('h2', {}, 'Metrics'),
    h('div', { class: 'charts' },
      barChart('Calls', [['calls', m.calls], ['errors', m.errors], ['panics', m.panics]], ''),
      barChart('Latency', [['p50', m.p50_us], ['p99', m.p99_us], ['max', m.max_us]], ' µs')),
    h('h3', {}, 'Recent history'), historyCharts(p.metrics_history),
    ...callsSection(p),
    h('h2', {}, 'Scheduled jobs'), jobs.jobs && jobs.jobs.length
      ? h('table', {}, h('thead', {}, h('tr', {}, ...['Job', 'Schedule', 'Next run', 'Last runs'].map(t => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, ...jobs.jobs.map(j => h('tr', {}, h('td', {}, j.name), h('td', {}, j.schedule), h('td', {}, when(j.next_run)),
          h('td', {}, ...lastRuns(j.recent_runs))))))
      : h('p', { class: 'hint' }, 'None.'),
    h('h2', {}, 'Audit trail'),
    h('ul', { 'data-audit': '' }, ...audit.entries.map(a => h('li', {}, when(a.at), `: ${a.from || '—'} → ${a.to} by ${a.actor}${a.error ? ` (${a.error})` : ''}`))),
  ];
  if (config && config.schema) {
    const form = schemaForm(config.schema, config.config);
    const save = h('button', { class: 'primary', type: 'submit' }, 'Save configuration');
    form.append(save);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await api('PUT', `/api/admin/plugins/${slug}/config`, form.read());
        form.showViolations([]);
        flash('Configuration saved');
      } catch (e) {
        if (e instanceof ApiError && e.details && e.details.violations) {
          form.showViolations(e.details.violations);
          flash('The configuration was not saved: see the fields marked', true);
        } else flash(`Not saved: ${e.message}`, true);
      }
    });
    sections.push(h('h2', {}, 'Configuration'), form);
  }
  main.replaceChildren(...sections);
}
