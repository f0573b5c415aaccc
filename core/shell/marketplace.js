// The marketplace: browse, search and filter the catalog; install and
// enable with consent and progress; the update queue (approve / apply /
// dismiss); sources and trusted keys.

import { api, h, flash } from './api.js';
import { installAndEnable } from './catalog.js';
import { plural } from './format.js';

/** The marketplace page. */
export async function marketplaceView(main, ctx, params = new URLSearchParams(location.search)) {
  const query = new URLSearchParams();
  for (const k of ['q', 'category', 'tag']) if (params.get(k)) query.set(k, params.get(k));
  const [{ entries, sources }, { updates }, { keys }] = await Promise.all([
    api('GET', `/api/admin/catalog?${query}`),
    api('GET', '/api/admin/updates'),
    api('GET', '/api/admin/trusted-keys'),
  ]);
  const all = entries;
  const categories = [...new Set(all.map(e => e.category).filter(Boolean))].sort();
  const tags = [...new Set(all.flatMap(e => e.tags || []))].sort();

  const q = h('input', { id: 'market-q', type: 'search', value: params.get('q') || '', placeholder: 'name, description, tag' });
  const cat = h('select', { id: 'market-category' }, h('option', { value: '' }, 'any'),
    ...categories.map(c => h('option', { value: c, selected: c === params.get('category') }, c)));
  const tag = h('select', { id: 'market-tag' }, h('option', { value: '' }, 'any'),
    ...tags.map(t => h('option', { value: t, selected: t === params.get('tag') }, t)));
  const filters = h('form', { class: 'filters', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    if (q.value) p.set('q', q.value); if (cat.value) p.set('category', cat.value); if (tag.value) p.set('tag', tag.value);
    history.replaceState(null, '', `/admin/marketplace${p.toString() ? '?' + p : ''}`);
    marketplaceView(main, ctx, p).catch(e => flash(e.message, true));
  } },
    h('label', { for: 'market-q' }, 'Search', h('br'), q),
    h('label', { for: 'market-category' }, 'Category', h('br'), cat),
    h('label', { for: 'market-tag' }, 'Tag', h('br'), tag),
    h('button', { type: 'submit' }, 'Search'));

  const cards = entries.map(e => {
    const bar = h('progress', { class: 'progress', hidden: true, 'aria-label': `Installing ${e.name}` });
    const text = h('span', { class: 'hint', 'aria-live': 'polite' });
    const href = `/admin/marketplace/${e.slug}`;
    const icon = e.icon_url
      ? h('img', { class: 'entry-icon', alt: '', src: `/api/admin/catalog/image?source=${e.source_id}&url=${encodeURIComponent(e.icon_url)}` })
      : h('span', { class: 'entry-icon placeholder', 'aria-hidden': 'true' }, e.name.slice(0, 1));
    let status;
    if (e.installed_version) {
      // What it is here, as words, linking to the plugin's page.
      const words = e.update_available ? `update available (${e.installed_version} → ${e.version})`
        : e.state === 'active' ? 'active' : e.state === 'errored' ? 'errored' : 'off';
      const cls = e.update_available ? 'pending_uninstall' : e.state === 'active' ? 'active' : e.state === 'errored' ? 'errored' : 'inactive';
      status = h('p', {}, h('span', { class: `badge ${cls}`, 'data-card-state': e.update_available ? 'update' : e.state }, words), ' ',
        h('a', { href: `/admin/plugins/${e.slug}/overview`, 'data-link': true }, `Open ${e.name}`));
    } else {
      const button = h('button', { class: 'primary', type: 'button', 'data-install': e.slug }, 'Install and enable');
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          if (await installAndEnable({ slug: e.slug, version: e.version, name: e.name }, bar, text)) await ctx.refresh();
          else button.disabled = false;
        } catch (err) {
          flash(`Install of ${e.slug} failed: ${err.message}`, true);
          text.textContent = err.message; button.disabled = false;
        }
      });
      status = h('p', {}, button, ' ', bar, ' ', text);
    }
    return h('article', { class: 'card entry', 'data-entry': e.slug },
      h('div', { class: 'entry-head' }, icon,
        h('div', {}, h('h2', {}, h('a', { href, 'data-link': true }, e.name), ' ', h('span', { class: 'hint' }, e.version)),
          h('p', { class: 'hint' }, [e.category, ...(e.tags || [])].filter(Boolean).join(' · '), e.author ? ` — by ${e.author}` : ''))),
      h('p', {}, e.description),
      status);
  });

  const open = updates.filter(u => u.state === 'pending' || u.state === 'needs_approval');
  const updateRows = open.map(u => h('li', { 'data-update': u.id, 'data-update-state': u.state },
    h('strong', {}, u.slug), `: ${u.from_version} → ${u.to_version} `,
    u.state === 'needs_approval' ? h('div', { class: 'approval' },
      h('p', {}, h('span', { class: 'badge pending_uninstall' }, 'needs approval'), ' This version also asks to:'),
      h('ul', { class: 'asks' }, ...(u.asks_added || []).map(a => h('li', { 'data-ask': a.id }, a.words)))) : '',
    u.error ? h('span', { class: 'error-text' }, `(last attempt: ${u.error}) `) : '',
    u.state === 'needs_approval'
      ? h('button', { type: 'button', class: 'primary', 'data-approve': u.slug, onclick: async () => {
        try { await api('POST', `/api/admin/updates/${u.id}/approve`, { to_sha256: u.to_sha256 }); flash(`${u.slug} ${u.to_version} approved: apply it when ready`); }
        catch (e) { flash(`Could not approve ${u.slug}: ${e.message}`, true); }
        await ctx.refresh();
      } }, 'Approve')
      : h('button', { type: 'button', class: 'primary', 'data-apply': u.slug, onclick: async () => {
        try { await api('POST', `/api/admin/updates/${u.id}/apply`); flash(`${u.slug} updated to ${u.to_version}`); }
        catch (e) { flash(`Update of ${u.slug} failed: ${e.message}`, true); }
        await ctx.refresh();
      } }, 'Apply'), ' ',
    h('button', { type: 'button', onclick: async () => {
      try { await api('POST', `/api/admin/updates/${u.id}/dismiss`); flash('Dismissed'); } catch (e) { flash(e.message, true); }
      await ctx.refresh();
    } }, 'Dismiss')));

  const loc = h('input', { id: 'source-location', required: true, placeholder: 'https://… or /path/catalog.json' });
  const unsigned = h('input', { id: 'source-unsigned', type: 'checkbox', role: 'switch' });
  const sourceForm = h('form', { class: 'filters', onsubmit: async (ev) => {
    ev.preventDefault();
    try { await api('POST', '/api/admin/catalog/sources', { location: loc.value, allow_unsigned: unsigned.checked }); flash('Source added'); }
    catch (e) { flash(e.message, true); }
    await ctx.refresh();
  } }, h('label', { for: 'source-location' }, 'New source', h('br'), loc),
    h('label', { for: 'source-unsigned', class: 'switch' }, unsigned, 'allow unsigned bundles'), h('button', { type: 'submit' }, 'Add source'));
  const keyInput = h('input', { id: 'key-hex', required: true, placeholder: '64 hex digits' });
  const keyName = h('input', { id: 'key-name', placeholder: 'publisher' });
  const keyForm = h('form', { class: 'filters', onsubmit: async (ev) => {
    ev.preventDefault();
    try { await api('POST', '/api/admin/trusted-keys', { public_key: keyInput.value, name: keyName.value }); flash('Key trusted'); }
    catch (e) { flash(e.message, true); }
    await ctx.refresh();
  } }, h('label', { for: 'key-hex' }, 'Public key', h('br'), keyInput), h('label', { for: 'key-name' }, 'Name', h('br'), keyName), h('button', { type: 'submit' }, 'Trust key'));

  main.replaceChildren(
    h('h1', {}, 'Marketplace'),
    filters,
    entries.length ? h('div', { class: 'entries' }, ...cards) : h('p', {}, 'No catalog entry matches.'),
    h('h2', { id: 'updates' }, 'Updates'),
    open.length ? h('ul', { class: 'updates' }, ...updateRows) : h('p', { class: 'hint' }, 'Everything is up to date.'),
    h('button', { type: 'button', onclick: async () => {
      try { await api('POST', '/api/admin/catalog/sync'); flash('Catalogs synced'); } catch (e) { flash(e.message, true); }
      await ctx.refresh();
    } }, 'Sync catalogs now'),
    h('h2', {}, 'Sources'),
    h('ul', {}, ...sources.map(s => h('li', {}, `${s.location} — ${plural(s.entries, 'entry', 'entries')}${s.allow_unsigned ? ', unsigned allowed' : ''}`,
      s.last_error ? h('span', { class: 'error-text' }, ` (last sync failed: ${s.last_error})`) : '', ' ',
      h('button', { type: 'button', class: 'danger', onclick: async () => {
        try { await api('DELETE', `/api/admin/catalog/sources/${s.id}`); flash('Source removed'); } catch (e) { flash(e.message, true); }
        await ctx.refresh();
      } }, 'Remove')))),
    sourceForm,
    h('h2', {}, 'Trusted publisher keys'),
    h('ul', {}, ...keys.map(k => h('li', {}, `${k.name || 'unnamed'} — ${k.key_id} `,
      h('button', { type: 'button', class: 'danger', onclick: async () => {
        try { await api('DELETE', `/api/admin/trusted-keys/${k.key_id}`); flash('Key removed'); } catch (e) { flash(e.message, true); }
        await ctx.refresh();
      } }, 'Remove')))),
    keyForm);
}
