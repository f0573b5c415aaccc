// Two replicas, `a` and `b`, on one PostgreSQL database (started by
// scripts/e2e, each with the `cluster-probe` fixture in its plugins folder):
// a change made through one replica reaches a browser open on the other, and
// the admin shows every replica and what each runs.
const { test, expect } = require('@playwright/test');

const A = process.env.PLUGBOARD_REPLICA_A_URL;
const B = process.env.PLUGBOARD_REPLICA_B_URL;
const PASSWORD = process.env.PLUGBOARD_ADMIN_PASSWORD;
const TOKEN = process.env.PLUGBOARD_TOKEN;
const shots = (name) => `artifacts/screens/${name}.png`;

test('a browser on replica b follows a change made on replica a and shows both replicas', async ({ page, request }) => {
  await page.goto(`${B}/admin`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#who')).toContainText('admin');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Plugins' }).click();
  const toggle = page.locator('#toggle-cluster-probe');
  await expect(toggle).not.toBeChecked();
  await expect(page.locator('section[data-replicas] tr[data-replica="a"]')).toContainText('alive');
  await expect(page.locator('section[data-replicas] tr[data-replica="b"]')).toContainText('(this one)');

  // Enabled through replica a's API: the page open on b follows, unreloaded.
  const res = await request.post(`${A}/api/admin/plugins/cluster-probe/enable`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(res.status()).toBe(200);
  await expect(toggle).toBeChecked();
  await page.screenshot({ path: shots('40-replicas'), fullPage: true });

  // The plugin's page on b: its version and state on each replica.
  await page.getByRole('link', { name: 'Cluster probe (replica fixture)' }).click();
  // (From each replica's heartbeat, written as soon as it follows the change.)
  await expect.poll(async () => {
    await page.reload();
    await page.locator('table[data-on-replicas]').waitFor();
    const rows = page.locator('table[data-on-replicas] tbody tr');
    return rows.evaluateAll(trs => trs.map(tr => [...tr.cells].slice(0, 3).map(c => c.textContent).join(' | ')));
  }).toEqual(['a | 0.1.0 | yes', 'b (this one) | 0.1.0 | yes']);
  // Each replica's own counters (from its heartbeat): 20 calls through a
  // show in a's row.
  for (let i = 0; i < 20; i++) expect((await request.get(`${A}/api/plugins/cluster-probe/ok`)).status()).toBe(200);
  await expect.poll(async () => {
    await page.reload();
    await page.locator('table[data-on-replicas]').waitFor();
    return Number(await page.locator('table[data-on-replicas] tr[data-replica="a"] td').nth(3).textContent());
  }).toBeGreaterThanOrEqual(20);
  await page.screenshot({ path: shots('41-plugin-on-each-replica'), fullPage: true });

  // Disabled in this browser (on b): a's API says so at once after.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Plugins' }).click();
  await page.locator('label[for="toggle-cluster-probe"]').click();
  await expect(toggle).not.toBeChecked();
  await expect.poll(async () => {
    const r = await request.get(`${A}/api/plugins/cluster-probe/ok`);
    return r.status();
  }).toBe(404);
});
