// The plugins list: every plugin with its state and a switch, the slowest
// plugins, the replicas, and what could not be loaded.

import { api, h, flash } from './api.js';
import { when } from './format.js';
import { duration } from './charts.js';

export function badge(state) {
  return h('span', { class: `badge ${state}`, 'data-state': state }, state.replace('_', ' '));
}

/** The switch that enables and disables `p`, following the server: a
 *  refusal puts it back and says why. Its id stays the same across
 *  redraws, so focus comes back to it. */
export function enableSwitch(p, ctx, id = `toggle-${p.slug}`) {
  const toggle = h('input', {
    type: 'checkbox', role: 'switch', id, 'data-toggle': p.slug,
  });
  toggle.checked = p.state === 'active';
  toggle.disabled = !['active', 'inactive', 'installed'].includes(p.state);
  toggle.addEventListener('change', async () => {
    const wanted = toggle.checked;
    toggle.disabled = true;
    try {
      await api('POST', `/api/admin/plugins/${p.slug}/${wanted ? 'enable' : 'disable'}`);
      flash(`${p.name || p.slug} ${wanted ? 'enabled' : 'disabled'}`);
    } catch (e) {
      toggle.checked = !wanted; // revert: the server said no
      flash(`Could not ${wanted ? 'enable' : 'disable'} ${p.slug}: ${e.message}`, true);
    }
    await ctx.refresh(id);
  });
  return h('label', { class: 'switch', for: id }, toggle,
    h('span', { class: 'visually-hidden' }, `Enabled: ${p.name || p.slug}`),
    h('span', { 'aria-hidden': 'true', class: 'switch-state' }, toggle.checked ? 'On' : 'Off'));
}

/** Every plugin with its state, a toggle that follows the server, reset and uninstall. */
export async function pluginsView(main, ctx) {
  const [{ plugins, problems, safe_mode: safeMode, slowest }, replicas] = await Promise.all([
    api('GET', '/api/admin/plugins'),
    api('GET', '/api/admin/replicas').catch(() => ({ shared: false, replicas: [] })),
  ]);
  const rows = plugins.map(p => {
    const toggle = enableSwitch(p, ctx);
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
      h('td', {}, h('a', { href: `/admin/plugins/${p.slug}/overview`, 'data-link': true }, p.name || p.slug),
        h('div', { class: 'hint' }, p.slug), p.description ? h('div', { class: 'description' }, p.description) : ''),
      h('td', {}, p.kind), h('td', { 'data-version': '' }, p.version), h('td', {}, badge(p.state)),
      h('td', {}, p.last_error ? h('span', { class: 'error-text' }, p.last_error) : ''),
      h('td', {}, toggle),
      h('td', {}, ...actions));
  });
  main.replaceChildren(
    h('h1', {}, 'Plugins'),
    safeMode ? h('p', { class: 'banner', role: 'status', 'data-safe-mode': '' },
      'Safe mode: no dynamic plugin was loaded or enabled. Their recorded states are unchanged; restart without --safe-mode to bring them back.') : '',
    h('table', {}, h('thead', {}, h('tr', {}, ...['Plugin', 'Kind', 'Version', 'State', 'Last error', 'Enabled', 'Actions'].map(t => h('th', { scope: 'col' }, t)))),
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

/** Asks whether to keep the plugin's data, then uninstalls it; `done`
 *  runs after (by default, the page is drawn again). */
export function confirmUninstall(p, ctx, done = () => ctx.refresh()) {
  const keep = h('input', { type: 'radio', name: 'data', value: 'keep', id: 'data-keep', checked: true });
  const remove = h('input', { type: 'radio', name: 'data', value: 'remove', id: 'data-remove' });
  const dialog = h('dialog', { 'aria-labelledby': 'uninstall-title' },
    h('form', { method: 'dialog' },
      h('h2', { id: 'uninstall-title' }, `Uninstall ${p.name || p.slug}?`),
      h('label', { for: 'data-keep', class: 'check' }, keep, 'Keep its data (tables, settings) for a reinstall'),
      h('label', { for: 'data-remove', class: 'check' }, remove, 'Remove its data'),
      h('p', {}, h('button', { value: 'cancel' }, 'Cancel'), ' ', h('button', { value: 'ok', class: 'danger' }, 'Uninstall'))));
  document.body.append(dialog);
  dialog.addEventListener('close', async () => {
    const ok = dialog.returnValue === 'ok';
    const data = remove.checked ? 'remove' : 'keep';
    dialog.remove();
    if (!ok) return;
    try {
      await api('DELETE', `/api/admin/plugins/${p.slug}?data=${data}`);
    } catch (e) { flash(`Could not uninstall ${p.slug}: ${e.message}`, true); await ctx.refresh(); return; }
    await done();
    // After `done`, which may go to another page (and clear notifications).
    flash(`${p.slug} uninstalled (data ${data === 'keep' ? 'kept' : 'removed'})`);
  });
  dialog.showModal();
}
