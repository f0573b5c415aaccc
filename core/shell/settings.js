// The Settings page: host settings (self-registration) and the accounts —
// the one user model: who signs in is who the user hooks fire on.

import { api, h, flash } from './api.js';

/** The Settings page (admins). */
export async function settingsView(main, ctx) {
  const [settings, { users }] = await Promise.all([
    api('GET', '/api/admin/settings'),
    api('GET', '/api/admin/users'),
  ]);

  const open = h('input', { type: 'checkbox', role: 'switch', id: 'self-registration' });
  open.checked = settings.self_registration;
  open.addEventListener('change', async () => {
    const wanted = open.checked;
    open.disabled = true;
    try {
      await api('PUT', '/api/admin/settings', { ...settings, self_registration: wanted });
      settings.self_registration = wanted;
      flash(wanted ? 'Self-registration is on' : 'Self-registration is off');
    } catch (e) {
      open.checked = !wanted;
      flash(`Could not change self-registration: ${e.message}`, true);
    }
    open.disabled = false;
  });

  const rows = users.map(u => h('tr', { 'data-user': u.username },
    h('td', {}, u.username), h('td', {}, u.role),
    h('td', {}, u.can_sign_in ? 'yes' : h('span', { class: 'hint' }, 'no password set'))));

  const name = h('input', { id: 'new-username', autocomplete: 'off', required: true });
  const password = h('input', { id: 'new-user-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const role = h('select', { id: 'new-user-role' }, h('option', { value: 'user' }, 'user'), h('option', { value: 'admin' }, 'admin'));
  const error = h('p', { class: 'field-error', role: 'alert', id: 'new-user-error' });
  const form = h('form', { class: 'card', 'aria-labelledby': 'new-user-title' },
    h('h2', { id: 'new-user-title' }, 'New account'),
    h('label', { for: 'new-username' }, 'Username'), name,
    h('label', { for: 'new-user-password' }, 'Password ', h('span', { class: 'hint' }, '(at least 8 characters)')), password,
    h('label', { for: 'new-user-role' }, 'Role'), role, error,
    h('p', {}, h('button', { class: 'primary', type: 'submit' }, 'Create account')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    try {
      const created = await api('POST', '/api/admin/accounts', { username: name.value, password: password.value, role: role.value });
      flash(`Account ${created.username} created`);
      await settingsView(main, ctx);
    } catch (e) { error.textContent = e.message; }
  });

  main.replaceChildren(
    h('h1', {}, 'Settings'),
    h('section', { class: 'card' },
      h('h2', {}, 'Sign-up'),
      h('label', { class: 'switch', for: 'self-registration' }, open, ' Anyone may create an account (role user) on the sign-in page'),
      h('p', { class: 'hint' }, 'Off by default. New accounts pass the plugins\' user filters either way.')),
    h('h2', {}, 'Accounts'),
    h('table', { id: 'accounts' }, h('thead', {}, h('tr', {}, ...['Username', 'Role', 'Can sign in'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...rows)),
    form);
}
