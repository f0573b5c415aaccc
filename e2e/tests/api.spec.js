// The OpenAPI document of the host and its plugins (GET /api/openapi.json):
// valid OpenAPI 3.1 by the official schemas (@seriousme/openapi-schema-validator),
// listing the guestbook's routes with their access and what the plugin
// documents, following disable and enable; and the shell's API page of a
// plugin, rendered from it. Runs after admin.spec.js (same server).
const { test, expect } = require('@playwright/test');

const PASSWORD = process.env.PLUGBOARD_ADMIN_PASSWORD;
const TOKEN = process.env.PLUGBOARD_TOKEN;
const auth = { authorization: `Bearer ${TOKEN}` };

async function admin(request, method, path, data) {
  const res = await request.fetch(path, { method, data, headers: auth });
  return { status: res.status(), body: await res.json().catch(() => null) };
}

async function openapi(request) {
  const res = await request.get('/api/openapi.json', { headers: auth });
  expect(res.status()).toBe(200);
  return res.json();
}

test.describe.serial('the API description', () => {
  test.beforeAll(async ({ request }) => {
    // The guestbook active (admin.spec.js installs it; alone, install it here).
    const shown = await admin(request, 'GET', '/api/admin/plugins/guestbook');
    if (shown.status === 404) {
      const job = await admin(request, 'POST', '/api/admin/plugins/install', { slug: 'guestbook', enable: true });
      expect(job.status).toBe(202);
      await expect.poll(async () => (await admin(request, 'GET', `/api/admin/installs/${job.body.id}`)).body.stage,
        { timeout: 60_000 }).toBe('done');
    }
    if ((await admin(request, 'GET', '/api/admin/plugins/guestbook')).body.state !== 'active') {
      expect((await admin(request, 'POST', '/api/admin/plugins/guestbook/enable')).status).toBe(200);
    }
  });

  test('is valid OpenAPI 3.1 and lists the guestbook routes with their access', async ({ request }) => {
    expect((await request.get('/api/openapi.json')).status()).toBe(401);
    const doc = await openapi(request);
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const result = await new Validator().validate(doc);
    expect(result.errors, JSON.stringify(result.errors, null, 2)).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');

    const entries = doc.paths['/api/plugins/guestbook/entries'];
    expect(entries.get['x-plugboard-access']).toBe('public');
    expect(entries.get.security).toEqual([]);
    expect(entries.get.summary).toBe('Every entry, newest first');
    expect(entries.post.summary).toBe('Signs the guestbook');
    const body = entries.post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['author', 'message']));
    const created = entries.post.responses['201'].content['application/json'].schema;
    expect(created.properties.id).toBeTruthy();
    const one = doc.paths['/api/plugins/guestbook/entries/{id}'];
    expect(one.delete['x-plugboard-access']).toBe('admin');
    expect(one.delete.security.length).toBeGreaterThan(0);
    expect(one.delete.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }]);
    // Undocumented routes still appear (the fixture `faulty` documents nothing).
    const faulty = Object.keys(doc.paths).filter(p => p.startsWith('/api/plugins/faulty/'));
    for (const p of faulty) {
      for (const op of Object.values(doc.paths[p])) expect(op['x-plugboard-access']).toBeTruthy();
    }
    // The host's own API is there too.
    expect(doc.paths['/api/admin/plugins/{slug}/enable'].post['x-plugboard-access']).toBeUndefined();
    expect(doc.paths['/api/admin/plugins/{slug}/enable'].post.tags).toEqual(['host']);
  });

  test('follows disable and enable', async ({ request }) => {
    expect((await admin(request, 'POST', '/api/admin/plugins/guestbook/disable')).status).toBe(200);
    let doc = await openapi(request);
    expect(Object.keys(doc.paths).filter(p => p.startsWith('/api/plugins/guestbook/'))).toEqual([]);
    expect((await admin(request, 'POST', '/api/admin/plugins/guestbook/enable')).status).toBe(200);
    doc = await openapi(request);
    expect(doc.paths['/api/plugins/guestbook/entries']).toBeTruthy();
  });

  test('the shell shows a plugin\'s API page, from its Access section', async ({ page }) => {
    await page.goto('/admin');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.locator('#who')).toContainText('admin');
    await page.goto('/admin/plugins/guestbook/access');
    await page.getByRole('link', { name: 'API reference' }).click();
    await expect(page).toHaveURL(/\/admin\/api\/guestbook$/);
    await expect(page.getByRole('heading', { name: 'API of guestbook' })).toBeVisible();
    const post = page.locator('[data-operation="POST /api/plugins/guestbook/entries"]');
    await expect(post).toContainText('Signs the guestbook');
    await expect(post.locator('[data-access]')).toHaveText('public');
    await post.getByText('Request body').click();
    await expect(post.locator('pre').first()).toContainText('"message"');
    await expect(page.locator('[data-operation="DELETE /api/plugins/guestbook/entries/{id}"] [data-access]')).toHaveText('admin');
    await page.screenshot({ path: 'artifacts/screens/30-plugin-api.png', fullPage: true });
  });
});
