// <guestbook-page>: the guestbook's page: every entry and a form to sign.

// A signed-in browser's state-changing requests must echo the session's
// CSRF token (the host refuses them otherwise); anonymous visitors have none.
async function csrfHeaders() {
  const res = await fetch('/api/auth/session');
  if (!res.ok) return {};
  const { csrf_token: token } = await res.json();
  return token ? { 'x-csrf-token': token } : {};
}

class GuestbookPage extends HTMLElement {
  connectedCallback() {
    this.innerHTML = `
      <form class="card" aria-label="Sign the guestbook">
        <label for="gb-author">Your name</label><input id="gb-author" required maxlength="80">
        <label for="gb-message">Message</label><textarea id="gb-message" required maxlength="2000"></textarea>
        <p><button class="primary" type="submit">Sign</button> <span class="gb-status" role="status"></span></p>
      </form>
      <h2>Entries</h2><ul class="gb-entries"></ul>`;
    this.querySelector('form').addEventListener('submit', (ev) => this.sign(ev));
    this.load();
  }

  async load() {
    const res = await fetch('/api/plugins/guestbook/entries');
    const { entries } = await res.json();
    const list = this.querySelector('.gb-entries');
    list.replaceChildren(...entries.map((e) => {
      const li = document.createElement('li');
      li.textContent = `${e.author}: ${e.message}`;
      return li;
    }));
  }

  async sign(ev) {
    ev.preventDefault();
    const status = this.querySelector('.gb-status');
    const res = await fetch('/api/plugins/guestbook/entries', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await csrfHeaders()) },
      body: JSON.stringify({
        author: this.querySelector('#gb-author').value,
        message: this.querySelector('#gb-message').value,
      }),
    });
    if (res.ok) {
      status.textContent = 'Thank you!';
      this.querySelector('#gb-message').value = '';
      await this.load();
    } else {
      const body = await res.json().catch(() => ({}));
      status.textContent = (body.error && body.error.message) || `HTTP ${res.status}`;
    }
  }
}

customElements.define('guestbook-page', GuestbookPage);
