// Route access and permission grants in a plugin's detail page.

import { api, h, flash } from './api.js';

const WORDS = {
  public: 'anyone',
  user: 'signed-in users',
  admin: 'admins',
};

/** Who may call a route, in words (`permission:x` → holders of x). */
export function accessWords(access) {
  if (access && access.startsWith('permission:')) return `holders of “${access.slice(11)}”`;
  return WORDS[access] || access;
}

/** The live routes with who may call each. */
export function routesTable(routes) {
  if (!routes.length) return h('p', { class: 'hint' }, 'None live.');
  return h('table', { 'data-routes': '' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Route'), h('th', { scope: 'col' }, 'Who may call it'))),
    h('tbody', {}, ...routes.map(r => h('tr', { 'data-access': r.access },
      h('td', {}, h('code', {}, `${r.method} ${r.path}`)),
      h('td', {}, accessWords(r.access), ' ', h('code', { class: 'hint' }, r.access))))));
}

/** The plugin's permissions with a checkbox per grantable role; saving replaces the grants. */
export async function permissionsSection(slug) {
  let data;
  try {
    data = await api('GET', `/api/admin/plugins/${slug}/permissions`);
  } catch {
    return [];
  }
  if (!data.permissions.length) return [];
  const boxes = [];
  const rows = data.permissions.map(p => h('tr', { 'data-permission': p.name },
    h('th', { scope: 'row' }, h('code', {}, p.name)),
    h('td', {}, p.description || '—'),
    h('td', {}, 'admins', ...data.grantable_roles.map(role => {
      const id = `grant-${p.name}-${role}`;
      const box = h('input', { type: 'checkbox', id, 'data-grant': `${p.name}:${role}` });
      box.checked = p.roles.includes(role);
      boxes.push([p.name, role, box]);
      return h('span', {}, ' ', box, h('label', { for: id }, `${role}s`));
    }))));
  const save = h('button', { class: 'primary', type: 'submit' }, 'Save grants');
  const form = h('form', { 'aria-label': 'Permission grants' },
    h('table', {}, h('thead', {}, h('tr', {}, ...['Permission', 'What it allows', 'Held by'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...rows)),
    h('p', {}, save));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const grants = {};
    for (const [name, role, box] of boxes) {
      grants[name] = grants[name] || [];
      if (box.checked) grants[name].push(role);
    }
    try {
      await api('PUT', `/api/admin/plugins/${slug}/permissions`, { grants });
      flash('Grants saved');
    } catch (e) {
      flash(`Grants not saved: ${e.message}`, true);
    }
  });
  return [h('h2', {}, 'Permissions'),
    h('p', { class: 'hint' }, 'Admins hold every permission; grant one to a role to let its accounts call the routes that need it.'),
    form];
}
