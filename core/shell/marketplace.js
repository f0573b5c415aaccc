// The marketplace: browse, search and filter the catalog; install with
// progress; pending updates (apply / dismiss); sources and trusted keys.

import { api, h, flash } from './api.js';
import { plural } from './format.js';

async function follow(id, bar, text) {
  for (;;) {
    const job = await api('GET', `/api/admin/installs/${id}`);
    if (job.total) { bar.max = job.total; bar.value = job.downloaded; } else bar.removeAttribute('value');
    text.textContent = `${job.current}: ${job.stage.replace('_', ' ')}${job.total ? ` (${Math.round(100 * job.downloaded / job.total)} %)` : ''}`;
    if (job.stage === 'done') { bar.max = 1; bar.value = 1; return job; }
    if (job.stage === 'failed') throw new Error(job.error);
    await new Promise(r => setTimeout(r, 150));
  }
}

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
    const installed = !!e.installed_version;
    const button = h('button', { class: 'primary', type: 'button', disabled: installed, 'data-install': e.slug }, installed ? `Installed (${e.state})` : 'Install');
    button.addEventListener('click', async () => {
      button.disabled = true; bar.hidden = false;
      try {
        const job = await api('POST', '/api/admin/plugins/install', { slug: e.slug, version: e.version });
        await follow(job.id, bar, text);
        flash(`${e.name} ${e.version} installed`);
        await ctx.refresh();
      } catch (err) {
        flash(`Install of ${e.slug} failed: ${err.message}`, true);
        text.textContent = err.message; button.disabled = false;
      }
    });
    return h('article', { class: 'card', 'data-entry': e.slug },
      h('h2', {}, e.name, ' ', h('span', { class: 'hint' }, e.version)),
      h('p', {}, e.description),
      h('p', { class: 'hint' }, [e.category, ...(e.tags || [])].filter(Boolean).join(' · '), e.author ? ` — by ${e.author}` : ''),
      e.update_available ? h('p', { class: 'badge installed' }, 'update available') : '',
      button, ' ', bar, ' ', text);
  });

  const pending = updates.filter(u => u.state === 'pending');
  const updateRows = pending.map(u => h('li', { 'data-update': u.id },
    `${u.slug}: ${u.from_version} → ${u.to_version} `,
    u.error ? h('span', { class: 'error-text' }, `(last attempt: ${u.error}) `) : '',
    h('button', { type: 'button', class: 'primary', onclick: async () => {
      try { await api('POST', `/api/admin/updates/${u.id}/apply`); flash(`${u.slug} updated to ${u.to_version}`); }
      catch (e) { flash(`Update of ${u.slug} failed: ${e.message}`, true); }
      await ctx.refresh();
    } }, 'Apply'), ' ',
    h('button', { type: 'button', onclick: async () => {
      try { await api('POST', `/api/admin/updates/${u.id}/dismiss`); flash('Dismissed'); } catch (e) { flash(e.message, true); }
      await ctx.refresh();
    } }, 'Dismiss')));

  const loc = h('input', { id: 'source-location', required: true, placeholder: 'https://… or /path/catalog.json' });
  const unsigned = h('input', { id: 'source-unsigned', type: 'checkbox' });
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
    h('h2', {}, 'Updates'),
    pending.length ? h('ul', {}, ...updateRows) : h('p', { class: 'hint' }, 'Everything is up to date.'),
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
