// A form generated from a JSON Schema: strings (passwords never pre-filled),
// numbers, integers, booleans, enums as selects, nested objects as
// fieldsets, arrays as repeatable items; defaults filled in; server
// violations shown beside their fields (by JSON pointer).

import { h } from './api.js';

let counter = 0;

function fieldId() { counter += 1; return `f${counter}`; }

/** The form for `schema` holding `value`; read it back with `form.read()`. */
export function schemaForm(schema, value) {
  const root = node(schema || {}, value, '', schema && schema.title || 'Configuration', true);
  const form = h('form', { novalidate: true, class: 'schema-form' }, root.el);
  form.read = () => root.read();
  form.showViolations = (violations) => {
    form.querySelectorAll('.field-error').forEach(e => { e.textContent = ''; });
    form.querySelectorAll('[aria-invalid]').forEach(e => e.removeAttribute('aria-invalid'));
    let first = null;
    for (const v of violations || []) {
      const holder = form.querySelector(`[data-pointer="${CSS.escape(v.path || '')}"]`) || form.querySelector('[data-pointer=""]');
      const err = holder && holder.querySelector(':scope > .field-error');
      if (err) {
        err.textContent += (err.textContent ? '; ' : '') + v.message;
        const input = holder.querySelector(':scope > input, :scope > select, :scope > textarea');
        if (input) { input.setAttribute('aria-invalid', 'true'); first = first || input; }
      }
    }
    if (first) first.focus();
  };
  return form;
}

function labelFor(schema, name) { return schema.title || name; }

function node(schema, value, pointer, name, top = false) {
  const type = Array.isArray(schema.type) ? schema.type.find(t => t !== 'null') : schema.type;
  if (value === undefined && schema.default !== undefined) value = structuredClone(schema.default);
  if (schema.enum) return enumField(schema, value, pointer, name);
  if (type === 'object' || schema.properties) return objectField(schema, value || {}, pointer, name, top);
  if (type === 'array') return arrayField(schema, Array.isArray(value) ? value : [], pointer, name);
  if (type === 'boolean') return boolField(schema, value, pointer, name);
  if (type === 'integer' || type === 'number') return numberField(schema, value, pointer, name, type);
  return stringField(schema, value, pointer, name);
}

function wrap(pointer, ...children) {
  return h('div', { class: 'field', 'data-pointer': pointer }, ...children, h('p', { class: 'field-error', 'aria-live': 'polite' }));
}

function describe(schema) {
  return schema.description ? h('span', { class: 'hint' }, ' — ', schema.description) : null;
}

function stringField(schema, value, pointer, name) {
  const id = fieldId();
  const password = schema.format === 'password';
  const input = h('input', {
    id, name: pointer, type: password ? 'password' : (schema.format === 'uri' ? 'url' : 'text'),
    autocomplete: password ? 'new-password' : 'off',
    placeholder: password && value ? '(unchanged)' : undefined,
  });
  // A stored password comes back masked; never pre-fill it.
  if (!password && value !== undefined && value !== null) input.value = value;
  const el = wrap(pointer, h('label', { for: id }, labelFor(schema, name), describe(schema)), input);
  return {
    el, read: () => {
      if (password && input.value === '' && value) return value; // keep the stored one
      return input.value === '' && schema.default === undefined && !schema.minLength ? undefined : input.value;
    },
  };
}

function numberField(schema, value, pointer, name, type) {
  const id = fieldId();
  const input = h('input', { id, name: pointer, type: 'number', step: type === 'integer' ? '1' : 'any' });
  if (value !== undefined && value !== null) input.value = value;
  const el = wrap(pointer, h('label', { for: id }, labelFor(schema, name), describe(schema)), input);
  return { el, read: () => input.value === '' ? undefined : Number(input.value) };
}

function boolField(schema, value, pointer, name) {
  const id = fieldId();
  const input = h('input', { id, name: pointer, type: 'checkbox' });
  input.checked = !!value;
  const el = wrap(pointer, h('label', { for: id, class: 'switch' }, input, labelFor(schema, name), describe(schema)));
  return { el, read: () => input.checked };
}

function enumField(schema, value, pointer, name) {
  const id = fieldId();
  const select = h('select', { id, name: pointer },
    ...schema.enum.map(v => h('option', { value: JSON.stringify(v), selected: JSON.stringify(v) === JSON.stringify(value) }, String(v))));
  const el = wrap(pointer, h('label', { for: id }, labelFor(schema, name), describe(schema)), select);
  return { el, read: () => JSON.parse(select.value) };
}

function objectField(schema, value, pointer, name, top) {
  const props = schema.properties || {};
  const children = Object.entries(props).map(([k, s]) => [k, node(s, value[k], `${pointer}/${k}`, k)]);
  const body = children.map(([, c]) => c.el);
  const el = top
    ? wrap(pointer, ...body)
    : wrap(pointer, h('fieldset', {}, h('legend', {}, labelFor(schema, name)), ...body));
  return {
    el, read: () => {
      const out = {};
      for (const [k, c] of children) { const v = c.read(); if (v !== undefined) out[k] = v; }
      return out;
    },
  };
}

function arrayField(schema, value, pointer, name) {
  const items = [];
  const list = h('div', { class: 'array-items' });
  const itemSchema = schema.items || {};
  const add = (v) => {
    const index = items.length;
    const child = node(itemSchema, v, `${pointer}/${index}`, `${labelFor(itemSchema, 'item')} ${index + 1}`);
    const remove = h('button', { type: 'button', class: 'danger', 'aria-label': `Remove item ${index + 1} of ${labelFor(schema, name)}` }, 'Remove');
    const row = h('div', { class: 'array-item' }, child.el, remove);
    const entry = { child, row };
    remove.addEventListener('click', () => { items.splice(items.indexOf(entry), 1); row.remove(); });
    items.push(entry);
    list.append(row);
  };
  value.forEach(add);
  const addButton = h('button', { type: 'button', onclick: () => add(undefined) }, `Add ${labelFor(itemSchema, 'item')}`);
  const el = wrap(pointer, h('fieldset', {}, h('legend', {}, labelFor(schema, name), describe(schema)), list, addButton));
  return { el, read: () => items.map(i => i.child.read()) };
}
