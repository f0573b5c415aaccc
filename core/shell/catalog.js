// A plugin of the catalogs before it is installed: readme, screenshots,
// changelog, versions, publisher and signature, what it asks for in words;
// and installing it — consent first, then install and enable in one step
// with progress (also used by the marketplace's cards).

import { api, h, flash, ApiError } from './api.js';
import { markdown } from './markdown.js';
import { plural, setTitle } from './format.js';

/** Follows install job `id`, drawing `bar` and `text`; the finished job. */
export async function follow(id, bar, text) {
  for (;;) {
    const job = await api('GET', `/api/admin/installs/${id}`);
    if (job.total) { bar.max = job.total; bar.value = job.downloaded; } else bar.removeAttribute('value');
    text.textContent = `${job.current}: ${job.stage.replace('_', ' ')}${job.total ? ` (${Math.round(100 * job.downloaded / job.total)} %)` : ''}`;
    if (job.stage === 'done') { bar.max = 1; bar.value = 1; return job; }
    if (job.stage === 'failed') throw new Error(job.error);
    await new Promise(r => setTimeout(r, 150));
  }
}

/** Asks the admin to accept what each plugin of `missing` ({slug, asks})
 *  asks for; resolves to the accept map, or null when cancelled. */
export function consentDialog(title, missing) {
  return new Promise((resolve) => {
    const agree = h('input', { type: 'checkbox', id: 'consent-agree' });
    const accept = h('button', { value: 'ok', class: 'primary', disabled: true, 'data-consent-accept': '' }, 'Accept and install');
    agree.addEventListener('change', () => { accept.disabled = !agree.checked; });
    const dialog = h('dialog', { 'aria-labelledby': 'consent-title', 'data-consent': '' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'consent-title' }, title),
        ...missing.flatMap(m => [
          h('p', {}, missing.length > 1 ? h('strong', {}, m.slug) : '', missing.length > 1 ? ' will be allowed to:' : 'It will be allowed to:'),
          h('ul', { class: 'asks' }, ...m.asks.map(a => h('li', { 'data-ask': a.id }, a.words)))]),
        h('label', { for: 'consent-agree', class: 'check' }, agree, 'I accept what it asks for'),
        h('p', { class: 'actions' }, h('button', { value: 'cancel' }, 'Cancel'), ' ', accept)));
    document.body.append(dialog);
    dialog.addEventListener('close', () => {
      const ok = dialog.returnValue === 'ok' && agree.checked;
      dialog.remove();
      resolve(ok ? Object.fromEntries(missing.map(m => [m.slug, m.asks.map(a => a.id)])) : null);
    });
    dialog.showModal();
    agree.focus();
  });
}

/** Installs and enables `slug` at `version`: asks for consent when the
 *  server says it is needed, then follows the job on `bar` and `text`.
 *  True when installed. */
export async function installAndEnable({ slug, version, name }, bar, text) {
  const body = { slug, version, enable: true };
  let job;
  try {
    job = await api('POST', '/api/admin/plugins/install', body);
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 'consent_required')) throw e;
    const accept = await consentDialog(`Install ${name || slug} ${version}?`, e.details.missing);
    if (!accept) { text.textContent = 'Not installed: cancelled.'; return false; }
    job = await api('POST', '/api/admin/plugins/install', { ...body, accept });
  }
  bar.hidden = false;
  await follow(job.id, bar, text);
  text.textContent = `${name || slug} ${version} is installed and enabled.`;
  flash(`${name || slug} ${version} installed and enabled`);
  return true;
}

const SIGNATURE = {
  verified: ['Signature verified', 'active'],
  unsigned: ['Not signed', 'errored'],
  untrusted_key: ['Signed with a key this server does not trust', 'errored'],
  invalid: ['Signature does not verify', 'errored'],
};

/** The publisher line: name, key, signature status. */
function publisherLine(v) {
  const [words, cls] = SIGNATURE[v.publisher.signature] || [v.publisher.signature, 'inactive'];
  const who = v.publisher.name || v.publisher.author || 'unknown publisher';
  return h('p', { 'data-publisher': v.publisher.signature },
    'Published by ', h('strong', {}, who),
    v.publisher.name && v.publisher.author && v.publisher.author !== v.publisher.name ? ` (${v.publisher.author})` : '',
    ' ', h('span', { class: `badge ${cls}` }, words),
    v.publisher.key_id ? h('span', { class: 'hint' }, ` key ${v.publisher.key_id}`) : '');
}

/** What this installation runs of the plugin, with a link to its page. */
function installedLine(detail) {
  const i = detail.installed;
  if (!i) return h('p', { class: 'hint' }, 'Not installed.');
  const words = i.state === 'active' ? 'active' : i.state === 'errored' ? 'errored' : 'off';
  return h('p', { 'data-installed': i.state }, `Installed: ${i.version}, `, h('span', { class: `badge ${i.state}` }, words), ' — ',
    h('a', { href: `/admin/plugins/${detail.slug}/overview`, 'data-link': true }, 'open its page'));
}

/** The catalog page of `slug`. */
export async function catalogView(main, slug, ctx, chosen = new URLSearchParams(location.search).get('version')) {
  const detail = await api('GET', `/api/admin/catalog/entries/${slug}`);
  const versions = detail.versions;
  const v = versions.find(x => x.version === chosen) || versions.find(x => x.for_this_platform) || versions[0];
  setTitle(v.name, 'Marketplace');

  const select = h('select', { id: 'version-choice' }, ...versions.map(x =>
    h('option', { value: x.version, selected: x === v }, `${x.version}${x.for_this_platform ? '' : ` (${x.platform})`}${x === versions[0] ? ' — newest' : ''}`)));
  select.addEventListener('change', () => {
    history.replaceState(null, '', `/admin/marketplace/${slug}?version=${encodeURIComponent(select.value)}`);
    catalogView(main, slug, ctx, select.value).catch(e => flash(e.message, true));
  });

  const bar = h('progress', { class: 'progress', hidden: true, 'aria-label': `Installing ${v.name}` });
  const text = h('span', { class: 'hint', 'aria-live': 'polite' });
  const installed = detail.installed;
  let action = '';
  if (!installed) {
    const button = h('button', { class: 'primary', type: 'button', id: 'install-enable', disabled: !v.for_this_platform }, 'Install and enable');
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        if (await installAndEnable({ slug, version: v.version, name: v.name }, bar, text)) await ctx.refresh();
        else button.disabled = false;
      } catch (e) { text.textContent = e.message; flash(`Install of ${slug} failed: ${e.message}`, true); button.disabled = false; }
    });
    action = button;
  } else if (installed.version !== v.version) {
    action = h('p', { class: 'hint' }, `Version ${installed.version} is installed; updates are applied from the `,
      h('a', { href: '/admin/marketplace#updates', 'data-link': true }, 'update queue'), '.');
  }

  const asks = v.asks.length
    ? h('ul', { class: 'asks', 'data-asks': '' }, ...v.asks.map(a => h('li', { 'data-ask': a.id },
      a.words, v.asks_added.some(x => x.id === a.id) ? h('span', { class: 'badge errored' }, ' new') : '')))
    : h('p', { class: 'hint' }, 'Nothing: it runs without storage, routes, events or network.');

  const deps = v.dependencies.length
    ? h('ul', {}, ...v.dependencies.map(d => h('li', {}, h('a', { href: `/admin/marketplace/${d.slug}`, 'data-link': true }, d.slug), ` ${d.version}`)))
    : h('p', { class: 'hint' }, 'None.');

  main.replaceChildren(
    h('p', { class: 'crumbs' }, h('a', { href: '/admin/marketplace', 'data-link': true }, 'Marketplace'), ' › ', v.name),
    h('div', { class: 'entry-head' },
      v.icon ? h('img', { class: 'icon-large', src: v.icon, alt: '' }) : h('span', { class: 'icon-large placeholder', 'aria-hidden': 'true' }, v.name.slice(0, 1)),
      h('div', {},
        h('h1', {}, v.name, ' ', h('span', { class: 'hint' }, v.version)),
        h('p', {}, v.description),
        publisherLine(v),
        installedLine(detail))),
    h('section', { class: 'card install-box' },
      h('label', { for: 'version-choice' }, 'Version'), select, ' ',
      v.for_this_platform ? '' : h('p', { class: 'error-text' }, `Built for ${v.platform}: not installable on this server.`),
      h('p', {}, action), bar, ' ', text),
    h('div', { class: 'columns' },
      h('div', {},
        v.readme ? markdown(v.readme, { dropTitle: true }) : h('p', { class: 'hint' }, 'No readme.'),
        v.pictures.length ? h('section', {}, h('h2', {}, 'Screenshots'),
          h('div', { class: 'shots' }, ...v.pictures.map((p, i) => h('figure', {},
            h('img', { src: p.url, alt: p.caption || `Screenshot ${i + 1} of ${v.name}`, loading: 'lazy' }),
            p.caption ? h('figcaption', {}, p.caption) : '')))) : '',
        h('h2', {}, 'Changelog'), v.changelog ? markdown(v.changelog, { dropTitle: true, top: 3 }) : h('p', { class: 'hint' }, 'No changelog.')),
      h('aside', {},
        h('h2', {}, 'It asks to'), asks,
        h('h2', {}, 'Needs'), deps,
        h('h2', {}, 'Details'),
        h('dl', { class: 'kv' },
          h('dt', {}, 'Category'), h('dd', {}, v.category || '—'),
          h('dt', {}, 'Tags'), h('dd', {}, (v.tags || []).join(', ') || '—'),
          h('dt', {}, 'Licence'), h('dd', {}, v.license || '—'),
          h('dt', {}, 'Web site'), h('dd', {}, v.homepage && /^https?:/i.test(v.homepage) ? h('a', { href: v.homepage, rel: 'noopener noreferrer', target: '_blank' }, v.homepage) : '—'),
          h('dt', {}, 'Requires'), h('dd', {}, [v.requires.host && `host ${v.requires.host}`, v.requires.plugin_api && `plugin-api ${v.requires.plugin_api}`].filter(Boolean).join(', ') || '—'),
          h('dt', {}, 'Versions'), h('dd', {}, plural(versions.length, 'version'))))));
}
