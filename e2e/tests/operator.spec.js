// The operator's admin (issue 15): an update that asks for more waits for
// approval, the plugin page's actions, focus after a toggle, and every page
// audited by axe-core at desktop and phone widths (screenshots of each in
// artifacts/screens/). Runs after admin.spec.js on the same server: the
// guestbook is installed; the catalog also offers the `notes` fixture 2.0.0
// and 3.0.0, which asks for one more capability (`files`).
const path = require('path');
const { test, expect } = require('@playwright/test');

const PASSWORD = process.env.PLUGBOARD_ADMIN_PASSWORD;
const TOKEN = process.env.PLUGBOARD_TOKEN;
const shots = (name) => `artifacts/screens/${name}.png`;

async function admin(request, method, url, data) {
  const res = await request.fetch(url, { method, data, headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  return { status: res.status(), body: text ? JSON.parse(text) : null };
}

async function signIn(page) {
  await page.goto('/admin');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#who')).toContainText('admin');
}

test.describe.serial('the operator', () => {
  test('installs a chosen version, and an update asking for more waits for approval', async ({ page, request }) => {
    await signIn(page);
    await page.goto('/admin/marketplace/notes');
    // Newest first; 2.0.0 chosen.
    await expect(page.getByLabel('Version')).toHaveValue('3.0.0');
    await page.getByLabel('Version').selectOption('2.0.0');
    await expect(page).toHaveURL(/version=2\.0\.0$/);
    await expect(page.locator('[data-ask="files"]')).toHaveCount(0);
    await page.getByRole('button', { name: 'Install and enable' }).click();
    await page.getByLabel('I accept what it asks for').check();
    await page.getByRole('button', { name: 'Accept and install' }).click();
    await expect(page.locator('[data-installed="active"]')).toContainText('Installed: 2.0.0');

    // 3.0.0 also asks to store files: it waits, with the difference shown.
    await page.getByLabel('Version').selectOption('3.0.0');
    await expect(page.locator('[data-ask="files"]')).toContainText('Store its own files new');
    await page.goto('/admin/marketplace');
    const update = page.locator('[data-update-state="needs_approval"]');
    await expect(update).toContainText('notes: 2.0.0 → 3.0.0');
    await expect(update.locator('[data-ask="files"]')).toHaveText('Store its own files');
    await expect(update.getByRole('button', { name: 'Apply' })).toHaveCount(0);
    await page.screenshot({ path: shots('20-update-needs-approval'), fullPage: true });
    const id = await update.getAttribute('data-update');
    const refused = await admin(request, 'POST', `/api/admin/updates/${id}/apply`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('needs_approval');
    expect(refused.body.error.details.asks.map(a => a.id)).toEqual(['files']);

    // Approved: it is pending, and the audit says who approved what.
    await update.getByRole('button', { name: 'Approve' }).click();
    await expect(page.locator('[data-update-state="pending"]')).toContainText('notes: 2.0.0 → 3.0.0');
    const { body } = await admin(request, 'GET', '/api/admin/audit?plugin=notes');
    const approval = body.entries.find(r => (r.error || '').startsWith('granted by approving the update to 3.0.0'));
    expect(approval.error).toContain('Store its own files');
    expect(approval.actor).toMatch(/\(admin\)$/);
  });

  test('the plugin page acts: update, disable and enable with focus kept, reset, uninstall', async ({ page, request }) => {
    await signIn(page);
    await page.goto('/admin/plugins/notes');
    await expect(page).toHaveURL(/\/admin\/plugins\/notes$/);
    await expect(page).toHaveTitle('Overview · Notes (update fixture) · Plugboard');
    await expect(page.getByRole('navigation', { name: 'Notes (update fixture) sections' }).getByRole('link', { name: 'Overview' }))
      .toHaveAttribute('aria-current', 'page');

    // Update: 3.0.0's migration fails; the page says so and 2.0.0 keeps serving.
    await page.getByRole('button', { name: 'Update to 3.0.0' }).click();
    await expect(page.locator('#toasts')).toContainText('0003_broken');
    await expect(page.locator('[data-version]')).toHaveText('2.0.0');
    await page.screenshot({ path: shots('21-plugin-page-actions'), fullPage: true });

    // The switch: the control used keeps the focus through the redraw.
    const toggle = page.getByRole('switch', { name: 'Enabled: Notes (update fixture)' });
    await toggle.focus();
    await page.keyboard.press('Space');
    await expect(page.locator('h1 [data-state]')).toHaveText('inactive');
    await expect(page.getByRole('switch', { name: 'Enabled: Notes (update fixture)' })).toBeFocused();
    // The live update of that change settles before the next key press.
    await expect(page.locator('html[data-busy]')).toHaveCount(0);
    await page.keyboard.press('Space');
    await expect(page.locator('h1 [data-state]')).toHaveText('active');
    await expect(page.getByRole('switch', { name: 'Enabled: Notes (update fixture)' })).toBeFocused();

    // Settings: a plugin without any says so.
    await page.locator('nav.tabs').getByRole('link', { name: 'Settings' }).click();
    await expect(page.locator('[data-no-settings]')).toHaveText('Notes (update fixture) has no settings.');

    // Reset, from an errored plugin's page.
    await page.goto('/admin/plugins/enable-error/overview');
    await page.getByRole('switch', { name: /Enabled: /i }).click();
    await expect(page.locator('h1 [data-state]')).toHaveText('errored');
    await page.getByRole('button', { name: 'Reset' }).click();
    await expect(page.locator('h1 [data-state]')).toHaveText('inactive');

    // Uninstall, keeping its data: back to the list, without it.
    await page.goto('/admin/plugins/notes/overview');
    await page.getByRole('button', { name: 'Uninstall' }).click();
    const dialog = page.getByRole('dialog', { name: 'Uninstall Notes (update fixture)?' });
    await expect(dialog.getByLabel('Keep its data (tables, settings) for a reinstall')).toBeChecked();
    await dialog.getByRole('button', { name: 'Uninstall' }).click();
    await expect(page).toHaveURL(/\/admin\/plugins$/);
    await expect(page.locator('tr[data-plugin="notes"]')).toHaveCount(0);
    await expect(page.locator('#toasts')).toContainText('notes uninstalled (data kept)');
    expect((await admin(request, 'GET', '/api/admin/plugins/notes')).status).toBe(404);
  });

  test('the list keeps the focus on the switch that was used', async ({ page }) => {
    await signIn(page);
    await page.goto('/admin/plugins');
    const toggle = page.getByRole('switch', { name: 'Enabled: Activity' });
    await toggle.focus();
    await page.keyboard.press('Space');
    await expect(page.locator('tr[data-plugin="activity"] [data-state]')).toHaveText('inactive');
    await expect(page.getByRole('switch', { name: 'Enabled: Activity' })).toBeFocused();
    await expect(page.locator('html[data-busy]')).toHaveCount(0);
    await page.keyboard.press('Space');
    await expect(page.locator('tr[data-plugin="activity"] [data-state]')).toHaveText('active');
    await expect(page.getByRole('switch', { name: 'Enabled: Activity' })).toBeFocused();
  });

  test('every page is clean in axe-core, at desktop and phone widths', async ({ page }) => {
    test.setTimeout(180_000);
    const pages = [
      ['dashboard', '/admin'], ['plugins', '/admin/plugins'], ['marketplace', '/admin/marketplace'],
      ['catalog-entry', '/admin/marketplace/guestbook'], ['settings', '/admin/settings'],
      ['plugin-overview', '/admin/plugins/webhooks/overview'], ['plugin-settings', '/admin/plugins/webhooks/settings'],
      ['plugin-access', '/admin/plugins/guestbook/access'], ['plugin-jobs', '/admin/plugins/guestbook/jobs'],
      ['plugin-events', '/admin/plugins/webhooks/events'], ['plugin-metrics', '/admin/plugins/webhooks/metrics'],
      ['plugin-audit', '/admin/plugins/guestbook/audit'], ['plugin-api', '/admin/api/guestbook'],
      ['not-found', '/admin/nowhere'],
    ];
    const axe = path.join(__dirname, '..', 'node_modules', 'axe-core', 'axe.min.js');
    const audit = async () => {
      await page.addScriptTag({ path: axe });
      return page.evaluate(async () => {
        const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
        return r.violations.map(v => `${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`);
      });
    };
    const found = [];
    for (const [width, height, device] of [[1280, 800, 'desktop'], [390, 844, 'phone']]) {
      await page.setViewportSize({ width, height });
      await page.context().clearCookies();
      await page.goto('/admin');
      await expect(page.getByRole('heading', { name: 'Sign in to Plugboard' })).toBeVisible();
      await page.screenshot({ path: shots(`axe-sign-in-${device}`), fullPage: true });
      found.push(...(await audit()).map(v => `sign-in (${device}) ${v}`));
      await signIn(page);
      for (const [name, url] of pages) {
        await page.goto(url);
        await expect(page.locator('main h1').first()).toBeVisible();
        // Pictures and plugin modules loaded, live data drawn.
        await page.waitForLoadState('networkidle');
        await page.screenshot({ path: shots(`axe-${name}-${device}`), fullPage: true });
        found.push(...(await audit()).map(v => `${name} (${device}) ${v}`));
      }
    }
    expect(found).toEqual([]);
  });
});
