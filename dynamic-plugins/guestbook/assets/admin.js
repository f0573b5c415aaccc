// <guestbook-admin>: the guestbook's admin page (moderation: every entry
// with a delete button) and <guestbook-admin-summary>: its admin widget.

async function entries() {
  const res = await fetch('/api/plugins/guestbook/entries');
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return (await res.json()).entries;
}

// Deleting is admin-only and, from a browser session, must echo the
// session's CSRF token.
async function csrfHeaders() {
  const res = await fetch('/api/auth/session');
  if (!res.ok) return {};
  const { csrf_token: token } = await res.json();
  return token ? { 'x-csrf-token': token } : {};
}

class GuestbookAdmin extends HTMLElement {
  connectedCallback() { this.load(); }

  async load() {
    const table = document.createElement('table');
    table.innerHTML = '<thead><tr><th scope="col">#</th><th scope="col">Author</th><th scope="col">Message</th><th scope="col"></th></tr></thead>';
    const body = document.createElement('tbody');
    for (const e of await entries()) {
      const tr = document.createElement('tr');
      tr.dataset.entry = e.id;
      for (const v of [e.id, e.author, e.message]) {
        const td = document.createElement('td');
        td.textContent = v;
        tr.append(td);
      }
      const del = document.createElement('button');
      del.type = 'button';
      del.className = 'danger';
      del.textContent = 'Delete';
      del.setAttribute('aria-label', `Delete entry ${e.id} by ${e.author}`);
      del.addEventListener('click', async () => {
        const res = await fetch(`/api/plugins/guestbook/entries/${e.id}`, {
          method: 'DELETE', headers: await csrfHeaders(),
        });
        if (!res.ok) {
          const body = await res.json().catch(() => ({}));
          del.textContent = (body.error && body.error.message) || `HTTP ${res.status}`;
          return;
        }
        this.load();
      });
      const td = document.createElement('td');
      td.append(del);
      tr.append(td);
      body.append(tr);
    }
    table.append(body);
    this.replaceChildren(table);
  }
}

class GuestbookAdminSummary extends HTMLElement {
  async connectedCallback() {
    try {
      const list = await entries();
      this.innerHTML = `<p class="guestbook-moderation">${list.length} to moderate — <a href="/admin/plugins/guestbook" data-link>open</a></p>`;
    } catch (err) {
      this.textContent = `The guestbook is unavailable: ${err.message}`;
    }
  }
}

customElements.define('guestbook-admin', GuestbookAdmin);
customElements.define('guestbook-admin-summary', GuestbookAdminSummary);
