// `plugboard dev` (started by scripts/e2e on a crate made by `plugboard
// plugin new`): a save that raises the version and changes the code is
// rebuilt and hot-reloaded, and an admin page open in the browser shows
// the new version without a reload, while the route answers the new code.
const fs = require('fs');
const path = require('path');
const { test, expect } = require('@playwright/test');

const DEV = process.env.PLUGBOARD_DEV_URL;
const CRATE = process.env.PLUGBOARD_DEV_CRATE;
const PASSWORD = process.env.PLUGBOARD_ADMIN_PASSWORD;

function edit(file, from, to) {
  const p = path.join(CRATE, file);
  const text = fs.readFileSync(p, 'utf8');
  expect(text).toContain(from);
  fs.writeFileSync(p, text.replace(from, to));
}

test('a save shows up in the open admin, live', async ({ page, request }) => {
  test.setTimeout(180_000);
  await page.goto(`${DEV}/admin`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#who')).toContainText('admin');
  await page.goto(`${DEV}/admin/plugins`);
  const row = page.locator('tr[data-plugin="e2e-dev"]');
  await expect(row.locator('[data-version]')).toHaveText('0.1.0');
  await expect(row.locator('[data-state]')).toHaveText('active');
  expect(await (await request.get(`${DEV}/api/plugins/e2e-dev/hello`)).json()).toEqual({ hello: 'stranger' });

  // One save: a new version and new code.
  edit('Cargo.toml', 'version = "0.1.0"', 'version = "0.2.0"');
  edit('plugin.json', '"version": "0.1.0"', '"version": "0.2.0"');
  edit('src/lib.rs', '"stranger"', '"friend"');

  // The page was not reloaded: the live feed brings the new version in.
  await expect(row.locator('[data-version]')).toHaveText('0.2.0', { timeout: 120_000 });
  await expect(row.locator('[data-state]')).toHaveText('active');
  expect(await (await request.get(`${DEV}/api/plugins/e2e-dev/hello`)).json()).toEqual({ hello: 'friend' });
  await page.screenshot({ path: 'artifacts/screens/31-dev-reloaded.png' });
  const log = fs.readFileSync(process.env.PLUGBOARD_DEV_LOG, 'utf8');
  expect(log).toMatch(/^reloaded e2e-dev 0\.2\.0: build \d+ ms, check and pack \d+ ms, reload \d+ ms/m);
});
