// <{{slug}}-latest>: a dashboard widget: the three newest notes.

class Latest extends HTMLElement {
  async connectedCallback() {
    this.textContent = 'Loading…';
    try {
      const res = await fetch('/api/plugins/{{slug}}/notes');
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const { notes } = await res.json();
      const list = document.createElement('ul');
      for (const n of notes.slice(0, 3)) {
        const li = document.createElement('li');
        li.textContent = `${n.author}: ${n.body}`;
        list.append(li);
      }
      this.replaceChildren(list);
    } catch (err) {
      this.textContent = `Notes are unavailable: ${err.message}`;
    }
  }
}

customElements.define('{{slug}}-latest', Latest);
