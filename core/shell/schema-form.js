// A form generated from a JSON Schema that reads like a product: each field
// labelled with its `title` (else its key in words), its `description`
// under it, its limits said before anything is typed, in the schema's
// order; `default`s filled in, `examples` as placeholders; passwords never
// pre-filled; formats as the matching inputs (password, URL, email); enums
// as selects, booleans as switches; nested objects as fieldsets; arrays as
// lists whose items are titled from their content. The server's violations
// (JSON pointers) are shown beside their fields — inside lists too, after
// items were added or removed — and summed up at the top.

import { h } from './api.js';

let counter = 0;

function fieldId() { counter += 1; return `f${counter}`; }

/** `max_attempts` → `Max attempts`. */
export function words(key) {
  const s = String(key).replace(/[_-]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').trim().toLowerCase();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The form for `schema` holding `value`; read it back with `form.read()`. */
export function schemaForm(schema, value) {
  const summary = h('div', { class: 'form-summary', role: 'alert', hidden: true });
  const root = node(schema || {}, value, '', { label: (schema && schema.title) || 'Settings', top: true });
  const form = h('form', { novalidate: true, class: 'schema-form' }, summary, root.el);
  form.read = () => root.read();
  form.showViolations = (violations) => {
    form.querySelectorAll('.field-error').forEach(e => { e.textContent = ''; });
    form.querySelectorAll('[aria-invalid]').forEach(e => e.removeAttribute('aria-invalid'));
    summary.replaceChildren();
    summary.hidden = true;
    let first = null;
    const listed = [];
    for (const v of violations || []) {
      const holder = holderFor(form, v.path || '');
      const err = holder && holder.querySelector(':scope > .field-error');
      if (!err) continue;
      err.textContent += (err.textContent ? '; ' : '') + v.message;
      const input = holder.querySelector(':scope > input, :scope > select, :scope > textarea, :scope > label > input');
      if (input) { input.setAttribute('aria-invalid', 'true'); first = first || input; }
      listed.push(h('li', {}, h('a', { href: `#${(input || holder).id || ''}` }, holder.dataset.label || 'The form'), `: ${v.message}`));
    }
    if (listed.length) {
      summary.hidden = false;
      summary.append(h('p', {}, listed.length === 1 ? 'One field needs attention:' : `${listed.length} fields need attention:`), h('ul', {}, ...listed));
    }
    // The first field in the form's order that needs attention.
    first = form.querySelector('[aria-invalid="true"]') || first;
    if (first) first.focus();
  };
  return form;
}

/** The field holding pointer `path`, else its nearest parent's. */
function holderFor(form, path) {
  let p = path;
  for (;;) {
    const found = form.querySelector(`[data-pointer="${CSS.escape(p)}"]`);
    if (found || p === '') return found;
    p = p.slice(0, p.lastIndexOf('/'));
  }
}

function typeOf(schema) {
  return Array.isArray(schema.type) ? schema.type.find(t => t !== 'null') : schema.type;
}

/** The limits of `schema`, said before anything is typed. */
function limits(schema) {
  const type = typeOf(schema);
  const parts = [];
  const range = (lo, hi, unit = '') => {
    if (lo !== undefined && hi !== undefined) return `from ${lo} to ${hi}${unit}`;
    if (lo !== undefined) return `at least ${lo}${unit}`;
    if (hi !== undefined) return `at most ${hi}${unit}`;
    return null;
  };
  if (type === 'integer' || type === 'number') {
    const lo = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? `more than ${schema.exclusiveMinimum}` : undefined);
    const hi = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? `less than ${schema.exclusiveMaximum}` : undefined);
    const r = range(lo, hi);
    if (r) parts.push(type === 'integer' ? `a whole number ${r}` : r);
    else if (type === 'integer') parts.push('a whole number');
  } else if (type === 'string' && !schema.enum) {
    const r = range(schema.minLength, schema.maxLength, ' characters');
    if (r) parts.push(r);
    if (schema.format === 'email') parts.push('an email address');
    if (schema.format === 'uri' || schema.format === 'url') parts.push('a full address (https://…)');
  } else if (type === 'array') {
    const r = range(schema.minItems, schema.maxItems, ' items');
    if (r) parts.push(r);
  }
  if (schema.default !== undefined && typeof schema.default !== 'object' && schema.format !== 'password') parts.push(`default ${schema.default}`);
  return parts.join('; ');
}

/** Label, description and limits; the ids the input is described by. */
function labelled(id, schema, opts) {
  const hintId = `${id}-hint`, errId = `${id}-error`;
  const limit = limits(schema);
  const hint = schema.description || limit
    ? h('p', { class: 'hint', id: hintId }, schema.description || '', schema.description && limit ? ' ' : '', limit ? h('span', { class: 'limits' }, `(${limit})`) : '')
    : null;
  return {
    label: h('label', { for: id }, opts.label, opts.required ? h('span', { class: 'required', 'aria-hidden': 'true' }, ' *') : ''),
    hint,
    describedBy: [hint ? hintId : null, errId].filter(Boolean).join(' '),
    errId,
  };
}

function wrap(pointer, label, errId, ...children) {
  return h('div', { class: 'field', 'data-pointer': pointer, 'data-label': label }, ...children,
    h('p', { class: 'field-error', id: errId, 'aria-live': 'polite' }));
}

function node(schema, value, pointer, opts) {
  const type = typeOf(schema);
  if (value === undefined && schema.default !== undefined) value = structuredClone(schema.default);
  if (schema.enum) return enumField(schema, value, pointer, opts);
  if (type === 'object' || schema.properties) return objectField(schema, value || {}, pointer, opts);
  if (type === 'array') return arrayField(schema, Array.isArray(value) ? value : [], pointer, opts);
  if (type === 'boolean') return boolField(schema, value, pointer, opts);
  if (type === 'integer' || type === 'number') return numberField(schema, value, pointer, opts, type);
  return stringField(schema, value, pointer, opts);
}

function stringField(schema, value, pointer, opts) {
  const id = fieldId();
  const l = labelled(id, schema, opts);
  const password = schema.format === 'password';
  const kind = password ? 'password' : schema.format === 'email' ? 'email' : (schema.format === 'uri' || schema.format === 'url') ? 'url' : 'text';
  const example = Array.isArray(schema.examples) && schema.examples.length ? String(schema.examples[0]) : undefined;
  const input = h(schema.maxLength > 200 ? 'textarea' : 'input', {
    id, name: pointer, type: kind === 'text' && schema.maxLength > 200 ? undefined : kind,
    autocomplete: password ? 'new-password' : 'off',
    placeholder: password && value ? '(unchanged)' : example ? `e.g. ${example}` : undefined,
    minlength: schema.minLength, maxlength: schema.maxLength, required: opts.required,
    'aria-describedby': l.describedBy,
  });
  // A stored password comes back masked; never pre-fill it.
  if (!password && value !== undefined && value !== null) input.value = value;
  if (opts.onInput) input.addEventListener('input', opts.onInput);
  const el = wrap(pointer, opts.label, l.errId, l.label, l.hint, input);
  return {
    el, input, read: () => {
      if (password && input.value === '' && value) return value; // keep the stored one
      return input.value === '' && schema.default === undefined && !schema.minLength ? undefined : input.value;
    },
  };
}

function numberField(schema, value, pointer, opts, type) {
  const id = fieldId();
  const l = labelled(id, schema, opts);
  const input = h('input', {
    id, name: pointer, type: 'number', step: type === 'integer' ? '1' : 'any',
    min: schema.minimum, max: schema.maximum, required: opts.required, 'aria-describedby': l.describedBy,
  });
  if (value !== undefined && value !== null) input.value = value;
  const el = wrap(pointer, opts.label, l.errId, l.label, l.hint, input);
  // What is not a number is sent as typed, for the server to say so.
  return { el, read: () => input.value === '' ? undefined : (Number.isNaN(Number(input.value)) ? input.value : Number(input.value)) };
}

function boolField(schema, value, pointer, opts) {
  const id = fieldId();
  const l = labelled(id, schema, opts);
  const input = h('input', { id, name: pointer, type: 'checkbox', role: 'switch', 'aria-describedby': l.describedBy });
  input.checked = !!value;
  const el = wrap(pointer, opts.label, l.errId, h('label', { for: id, class: 'switch' }, input, opts.label), l.hint);
  return { el, read: () => input.checked };
}

function enumField(schema, value, pointer, opts) {
  const id = fieldId();
  const l = labelled(id, schema, opts);
  // `enumNames` (a common extension) gives each value its words.
  const names = Array.isArray(schema.enumNames) ? schema.enumNames : [];
  // With no stored value among the choices, none is shown chosen (the
  // browser would otherwise pick the first, and saving would write it).
  const known = schema.enum.some(v => JSON.stringify(v) === JSON.stringify(value));
  const select = h('select', { id, name: pointer, 'aria-describedby': l.describedBy },
    ...(!known ? [h('option', { value: '', selected: true, disabled: true }, 'Choose…')] : []),
    ...schema.enum.map((v, i) => h('option', { value: JSON.stringify(v), selected: JSON.stringify(v) === JSON.stringify(value) },
      names[i] !== undefined ? String(names[i]) : typeof v === 'string' ? words(v) : String(v))));
  if (opts.onInput) select.addEventListener('change', opts.onInput);
  const el = wrap(pointer, opts.label, l.errId, l.label, l.hint, select);
  return { el, input: select, read: () => (select.value === '' ? undefined : JSON.parse(select.value)) };
}

function objectField(schema, value, pointer, opts) {
  const props = schema.properties || {};
  const required = new Set(schema.required || []);
  const children = Object.entries(props).map(([k, s]) => [k, node(s, value[k], `${pointer}/${k}`,
    { label: s.title || words(k), required: required.has(k), onInput: opts.onInput })]);
  const body = children.map(([, c]) => c.el);
  const errId = `${fieldId()}-error`;
  const el = opts.top
    ? wrap(pointer, opts.label, errId, ...body)
    : wrap(pointer, opts.label, errId, h('fieldset', {}, h('legend', {}, opts.label),
      schema.description ? h('p', { class: 'hint' }, schema.description) : '', ...body));
  return {
    el, children,
    read: () => {
      const out = {};
      for (const [k, c] of children) { const v = c.read(); if (v !== undefined) out[k] = v; }
      return out;
    },
  };
}

/** `value` without masked passwords (`********`, as the server sends them). */
function unmasked(value) {
  if (value === '********') return undefined;
  if (Array.isArray(value)) return value.map(unmasked);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unmasked(v)]).filter(([, v]) => v !== undefined));
  return value;
}

/** An item's title: its first filled-in text field (a name, a URL…),
 *  never a password. */
function itemTitle(schema, child, fallback) {
  if (schema.format === 'password') return fallback;
  const v = child.read();
  if (typeof v === 'string' && v.trim()) return v.trim();
  if (v && typeof v === 'object') {
    const props = schema.properties || {};
    const shown = (k) => typeof v[k] === 'string' && v[k].trim() && !(props[k] && props[k].format === 'password');
    for (const key of ['title', 'name', 'label', 'id', 'url']) if (shown(key)) return v[key].trim();
    const key = Object.keys(v).find(shown);
    if (key) return v[key].trim();
  }
  return fallback;
}

function arrayField(schema, value, pointer, opts) {
  const itemSchema = schema.items || {};
  const noun = itemSchema.title || (opts.label.endsWith('s') ? opts.label.slice(0, -1) : 'item');
  const id = fieldId();
  const l = labelled(id, schema, opts);
  const list = h('ol', { class: 'array-items' });
  let items = [];
  // Items are drawn again after a removal so that each one's pointer is its
  // place in the list: errors from the server land on the right item.
  const draw = (values) => {
    items = [];
    list.replaceChildren();
    values.forEach(v => add(v, false));
  };
  const add = (v, focus = true) => {
    const index = items.length;
    const fallback = `${words(noun)} ${index + 1}`;
    const heading = h('p', { class: 'item-title' }, fallback);
    const entry = {};
    const retitle = () => { heading.textContent = itemTitle(itemSchema, entry.child, fallback); remove.setAttribute('aria-label', `Remove ${heading.textContent}`); };
    entry.child = node(itemSchema, v, `${pointer}/${index}`, { label: typeOf(itemSchema) === 'object' ? words(noun) : fallback, onInput: retitle });
    const remove = h('button', { type: 'button', class: 'danger', 'data-remove-item': index }, 'Remove');
    remove.addEventListener('click', () => {
      // Items after the removed one move up: a stored (masked) password
      // they kept would be matched to another item's on the server, so it
      // must be entered again.
      const values = items.filter(i => i !== entry).map((i, at) => (at >= index ? unmasked(i.child.read()) : i.child.read()));
      draw(values);
      const next = list.querySelectorAll('[data-remove-item]')[Math.min(index, values.length - 1)];
      (next || addButton).focus();
    });
    entry.row = h('li', { class: 'array-item' }, heading, entry.child.el, remove);
    items.push(entry);
    list.append(entry.row);
    retitle();
    if (focus) { const first = entry.row.querySelector('input, select, textarea'); if (first) first.focus(); }
  };
  draw(value);
  const addButton = h('button', { type: 'button', id, onclick: () => add(undefined) }, `Add ${noun.toLowerCase()}`);
  const el = wrap(pointer, opts.label, l.errId,
    h('fieldset', { 'aria-describedby': l.describedBy }, h('legend', {}, opts.label), l.hint, list, addButton));
  return { el, read: () => items.map(i => i.child.read()) };
}
