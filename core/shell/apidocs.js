// The API page of one plugin, rendered from the host's OpenAPI document
// (GET /api/openapi.json): each route with its method, path, access level,
// summary, and the JSON Schemas of its request and responses.

import { api, h } from './api.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Resolves a `#/components/schemas/…` reference for display (one level). */
function resolve(doc, schema) {
  if (schema && schema.$ref && schema.$ref.startsWith('#/components/schemas/')) {
    const name = schema.$ref.slice('#/components/schemas/'.length);
    return { name, schema: (doc.components.schemas || {})[name] || schema };
  }
  return { name: schema && schema.title, schema };
}

function schemaBlock(doc, label, schema) {
  const { name, schema: shown } = resolve(doc, schema);
  return h('details', { class: 'schema' },
    h('summary', {}, label, name ? ` (${name})` : ''),
    h('pre', {}, JSON.stringify(shown, null, 2)));
}

function operation(doc, path, method, op) {
  const responses = Object.entries(op.responses || {})
    .filter(([status]) => status !== '401' && status !== '403');
  const body = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
  return h('section', { class: 'operation', 'data-operation': `${method.toUpperCase()} ${path}` },
    h('h2', {}, h('code', {}, method.toUpperCase()), ' ', h('code', {}, path)),
    h('p', {}, h('span', { class: 'badge', 'data-access': op['x-plugboard-access'] }, op['x-plugboard-access']),
      ' ', op.summary || h('span', { class: 'hint' }, 'No summary: the plugin does not document this route.')),
    op.description ? h('p', { class: 'hint' }, op.description) : '',
    body ? schemaBlock(doc, 'Request body', body.schema) : '',
    ...responses.map(([status, r]) => {
      const json = r.content && r.content['application/json'];
      return json ? schemaBlock(doc, `${status} ${r.description}`, json.schema)
        : h('p', {}, `${status}: ${r.description}`);
    }));
}

/** `/admin/api/{slug}`: the plugin's routes as the OpenAPI document lists them. */
export async function apiView(main, slug) {
  const doc = await api('GET', '/api/openapi.json');
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op && (op.tags || []).includes(slug)) ops.push(operation(doc, path, method, op));
    }
  }
  const tag = (doc.tags || []).find(t => t.name === slug);
  main.replaceChildren(
    h('h1', {}, `API of ${slug}`),
    tag && tag.description ? h('p', {}, tag.description) : '',
    h('p', {}, h('a', { href: '/api/openapi.json' }, 'OpenAPI 3.1 document'), ' (every plugin and the host)'),
    ...(ops.length ? ops : [h('p', { class: 'hint' }, 'No live routes: the plugin is not active, or serves none.')]));
}
