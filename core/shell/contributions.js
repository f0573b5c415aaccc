// Plugin contributions: each widget or page is the plugin's own ES module
// (loaded with dynamic import(), its integrity hash passed on through a
// modulepreload link) rendering a custom element. A module that fails to
// load, or an element that throws, shows an error box in its slot; the rest
// of the page keeps working.

import { h } from './api.js';

const loaded = new Map();

/** Imports `module` ({url, integrity}) once, checking its integrity. */
export function loadModule(module) {
  if (!loaded.has(module.url)) {
    const link = document.createElement('link');
    link.rel = 'modulepreload';
    link.href = module.url;
    link.integrity = module.integrity;
    link.crossOrigin = 'anonymous';
    document.head.append(link);
    loaded.set(module.url, import(module.url));
  }
  return loaded.get(module.url);
}

function errorBox(c, err) {
  return h('div', { class: 'slot-error', role: 'alert', 'data-contribution': c.id },
    `${c.title} (${c.plugin}) could not be shown: ${err && err.message ? err.message : err}`);
}

/** Creates the contribution's element inside `holder`, or an error box. */
export async function mount(holder, c, context = {}) {
  holder.replaceChildren(h('p', { class: 'hint' }, 'Loading…'));
  try {
    await loadModule(c.module);
    if (!customElements.get(c.element)) {
      throw new Error(`the module did not define <${c.element}>`);
    }
    const el = document.createElement(c.element);
    el.plugin = c.plugin;
    el.context = context;
    el.setAttribute('data-contribution', c.id);
    holder.replaceChildren(el);
  } catch (err) {
    holder.replaceChildren(errorBox(c, err));
  }
}

/** Renders the widgets of `slot` from the UI manifest into `container`. */
export function renderWidgets(container, manifest, slot) {
  const widgets = manifest.contributions.filter(c => c.slot === slot);
  const grid = h('div', { class: 'grid', 'data-slot': slot });
  for (const w of widgets) {
    const body = h('div');
    const card = h('section', { class: `card w-${w.width || 'medium'}`, 'aria-label': w.title, 'data-widget': w.id },
      h('h2', {}, w.title), body);
    grid.append(card);
    mount(body, w);
  }
  container.append(widgets.length ? grid : h('p', { class: 'hint' }, 'No widgets yet: plugins add them when enabled.'));
}

/** The page contribution whose route is `path`, if any. */
export function pageFor(manifest, path) {
  return manifest.contributions.find(c =>
    (c.kind === 'page' || c.kind === 'admin_page') && c.route === path.replace(/\/$/, ''));
}
