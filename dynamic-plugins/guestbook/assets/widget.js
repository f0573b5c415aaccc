// <guestbook-latest>: the dashboard widget of the guestbook example plugin:
// how many entries there are and the newest three.

class GuestbookLatest extends HTMLElement {
  async connectedCallback() {
    this.textContent = 'Loading…';
    try {
      const res = await fetch('/api/plugins/guestbook/entries');
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const { entries } = await res.json();
      const list = document.createElement('ul');
      for (const e of entries.slice(0, 3)) {
        const li = document.createElement('li');
        li.textContent = `${e.author}: ${e.message}`;
        list.append(li);
      }
      const count = document.createElement('p');
      count.className = 'guestbook-count';
      count.textContent = `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}`;
      this.replaceChildren(count, list);
    } catch (err) {
      this.textContent = `The guestbook is unavailable: ${err.message}`;
    }
  }
}

customElements.define('guestbook-latest', GuestbookLatest);
