// Markdown from catalogs and bundles (readmes, changelogs), rendered
// safely: the text only ever becomes text nodes and a fixed set of elements
// built here — raw HTML shows as text, links go to http(s) or mailto only,
// images show as links (a readme cannot make the browser fetch anything).
//
// Covers what readmes use: headings, paragraphs, lists (- * 1.), fenced and
// indented code, block quotes, rules, and inline code, **strong**,
// *emphasis*, [links](url).

import { h } from './api.js';

const MAX_TEXT = 100000;
const MAX_INLINE = 4000;
const MAX_DEPTH = 4;

/** The Markdown `text` as a `<div class="markdown">`; with `dropTitle`, a
 *  first `# Title` line is left out (the page already has its title).
 *  Its `##` headings become `<h{top}>`, deeper ones follow (heading levels
 *  go down one at a time from the page's own). */
export function markdown(text, { dropTitle = false, top = 2, depth = 0 } = {}) {
  const root = h('div', { class: 'markdown' });
  // Bounded: a hostile readme must not freeze or crash the page.
  let source = String(text || '');
  const cut = source.length > MAX_TEXT;
  if (cut) source = source.slice(0, MAX_TEXT);
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  if (dropTitle) {
    const first = lines.findIndex(l => l.trim());
    if (first >= 0 && /^#\s/.test(lines[first])) lines.splice(first, 1);
  }
  let i = 0;
  let para = [];
  const flush = () => {
    if (para.length) root.append(h('p', {}, ...inline(para.join(' '))));
    para = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if ((m = line.match(/^\s*(```|~~~)/))) {
      flush();
      const fence = m[1];
      const code = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) { code.push(lines[i]); i += 1; }
      i += 1;
      root.append(h('pre', {}, h('code', {}, code.join('\n'))));
      continue;
    }
    if (/^ {4}|\t/.test(line) && !para.length && line.trim()) {
      const code = [];
      while (i < lines.length && (/^ {4}|\t/.test(lines[i]) || !lines[i].trim())) {
        code.push(lines[i].replace(/^ {4}|\t/, '')); i += 1;
      }
      root.append(h('pre', {}, h('code', {}, code.join('\n').replace(/\n+$/, ''))));
      continue;
    }
    if ((m = line.match(/^(#{1,6})\s+(.*?)\s*#*\s*$/))) {
      flush();
      const level = Math.min(6, Math.max(top, m[1].length - 2 + top));
      root.append(h(`h${level}`, {}, ...inline(m[2])));
      i += 1;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) { flush(); root.append(h('hr')); i += 1; continue; }
    if (/^\s*>/.test(line)) {
      flush();
      const quoted = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) { quoted.push(lines[i].replace(/^\s*>\s?/, '')); i += 1; }
      const inner = depth < MAX_DEPTH ? markdown(quoted.join('\n'), { top, depth: depth + 1 }).childNodes : [quoted.join(' ')];
      root.append(h('blockquote', {}, ...inner));
      continue;
    }
    if ((m = line.match(/^\s*([-*+]|\d+[.)])\s+/))) {
      flush();
      const ordered = /\d/.test(m[1]);
      const list = h(ordered ? 'ol' : 'ul');
      while (i < lines.length && (m = lines[i].match(/^\s*([-*+]|\d+[.)])\s+(.*)$/)) && /\d/.test(m[1]) === ordered) {
        const item = [m[2]];
        i += 1;
        // Continuation lines, indented.
        while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !/^\s*([-*+]|\d+[.)])\s+/.test(lines[i])) { item.push(lines[i].trim()); i += 1; }
        list.append(h('li', {}, ...inline(item.join(' '))));
      }
      root.append(list);
      continue;
    }
    if (!line.trim()) { flush(); i += 1; continue; }
    para.push(line.trim());
    i += 1;
  }
  flush();
  if (cut) root.append(h('p', { class: 'hint' }, '(cut: the text is longer than the admin shows)'));
  return root;
}

/** Inline Markdown as nodes (a very long paragraph stays plain text). */
function inline(text) {
  if (text.length > MAX_INLINE) return [text];
  const out = [];
  const re = /(`+)([\s\S]*?)\1|!?\[([^\]]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_|<(https?:\/\/[^>\s]+)>/g;
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1]) out.push(h('code', {}, m[2].trim()));
    else if (m[4] !== undefined) out.push(link(m[3] || m[4], m[4]));
    else if (m[5] || m[6]) out.push(h('strong', {}, ...inline(m[5] || m[6])));
    else if (m[7] || m[8]) out.push(h('em', {}, ...inline(m[7] || m[8])));
    else if (m[9]) out.push(link(m[9], m[9]));
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** A link when `url` is http(s) or mailto, else its text. */
function link(label, url) {
  if (!/^(https?:|mailto:)/i.test(url)) return label;
  return h('a', { href: url, rel: 'noopener noreferrer nofollow', target: '_blank' }, label);
}
