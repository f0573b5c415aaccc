// The admin in a real browser (Debian's Chromium), against a real
// `plugboard serve` started by scripts/e2e with: the built-in plugins, the
// `faulty` and `enable-error` fixtures in its plugins folder, and the example
// catalog (guestbook, signed) as a marketplace source.
const { test, expect } = require('@playwright/test');

// The server printed ONE_TIME at its first start; the first test replaces it with PASSWORD.
const ONE_TIME = process.env.PLUGBOARD_ONE_TIME_PASSWORD;
const PASSWORD = process.env.PLUGBOARD_ADMIN_PASSWORD;
const TOKEN = process.env.PLUGBOARD_TOKEN;
const shots = (name) => `artifacts/screens/${name}.png`;

/** An admin API call with the bearer token (set-up and checks, not the UI). */
async function admin(request, method, path, data) {
  const res = await request.fetch(path, {
    method, data, headers: { authorization: `Bearer ${TOKEN}` },
  });
  const text = await res.text();
  return { status: res.status(), body: text ? JSON.parse(text) : null };
}

async function signIn(page, username = 'admin', password = PASSWORD, { expectFailure = false } = {}) {
  await page.goto('/admin');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (!expectFailure) await expect(page.locator('#who')).toContainText(username);
}

function row(page, slug) {
  return page.locator(`tr[data-plugin="${slug}"]`);
}

test.describe.serial('the admin', () => {
  test('refuses a wrong password, signs in with the one-time password and chooses a new one', async ({ page }) => {
    await page.goto('/admin');
    await expect(page.getByRole('heading', { name: 'Sign in to Plugboard' })).toBeVisible();
    await page.screenshot({ path: shots('01-sign-in') });
    await signIn(page, 'admin', 'not the password', { expectFailure: true });
    await expect(page.locator('#login-error')).toHaveText('Wrong username or password.');
    await expect(page.locator('header')).toBeHidden();

    // The one-time password printed at the first start only lets you choose your own.
    await signIn(page, 'admin', ONE_TIME, { expectFailure: true });
    await expect(page.getByRole('heading', { name: 'Choose your password' })).toBeVisible();
    await expect(page.locator('header')).toBeHidden();
    await page.getByLabel('One-time password').fill(ONE_TIME);
    await page.getByLabel(/^New password/).first().fill(PASSWORD);
    await page.getByLabel('New password again').fill(PASSWORD + '-typo');
    await page.getByRole('button', { name: 'Save password' }).click();
    await expect(page.getByText('The two new passwords differ.')).toBeVisible();
    await page.screenshot({ path: shots('00-choose-password') });
    await page.getByLabel('New password again').fill(PASSWORD);
    await page.getByRole('button', { name: 'Save password' }).click();
    await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
    await expect(page.locator('#who')).toHaveText('admin (admin)');
    // The session cookie is HttpOnly and SameSite=Strict.
    const cookie = (await page.context().cookies()).find(c => c.name === 'plugboard_session');
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe('Strict');
    expect(await page.evaluate(() => document.cookie)).not.toContain('plugboard_session');

    // The one-time password is spent; the new one works.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, 'admin', ONE_TIME, { expectFailure: true });
    await expect(page.locator('#login-error')).toHaveText('Wrong username or password.');
    await signIn(page);
    await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  });

  test('browses to the guestbook\'s catalog page, accepts what it asks for, and installs and enables it in one step', async ({ page, request }) => {
    await signIn(page);
    await page.getByRole('link', { name: 'Marketplace' }).click();
    await expect(page.getByRole('heading', { name: 'Marketplace' })).toBeVisible();
    const entry = page.locator('article[data-entry="guestbook"]');
    await expect(entry).toContainText('Guestbook');
    await page.getByLabel('Search').fill('nothing-matches-this');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect(page.getByText('No catalog entry matches.')).toBeVisible();
    await page.getByLabel('Search').fill('guest');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect(entry).toBeVisible();
    // The card shows the icon the catalog names (relative to it), through the host.
    const icon = entry.locator('img.entry-icon');
    await expect(icon).toHaveAttribute('src', /^\/api\/admin\/catalog\/image\?source=\d+&url=guestbook-icon\.png$/);
    await expect.poll(() => icon.evaluate(img => img.complete && img.naturalWidth)).toBe(64);
    await page.screenshot({ path: shots('02-marketplace'), fullPage: true });

    // Its page, before installing: readme, screenshot, changelog, versions,
    // publisher and signature, what it asks for in words.
    await entry.getByRole('link', { name: 'Guestbook' }).click();
    await expect(page).toHaveURL(/\/admin\/marketplace\/guestbook$/);
    await expect(page.getByRole('heading', { name: /^Guestbook/, level: 1 })).toBeVisible();
    await expect(page).toHaveTitle('Guestbook · Marketplace · Plugboard');
    await expect(page.locator('.markdown').first()).toContainText('Visitors leave messages');
    await expect(page.locator('.markdown strong').first()).toHaveText('Routes');
    const shot = page.getByRole('img', { name: 'The guestbook page, with the latest entries' });
    await expect.poll(() => shot.evaluate(img => img.naturalWidth)).toBe(400);
    await expect(page.getByRole('heading', { name: 'Changelog', exact: true, level: 2 })).toBeVisible();
    await expect(page.locator('.markdown h2').first()).toHaveText('What it adds'); // its own title left out
    await expect(page.locator('[data-publisher="verified"]')).toContainText('Signature verified');
    await expect(page.getByLabel('Version')).toHaveValue('0.1.0');
    const asks = page.locator('[data-asks]');
    await expect(asks.locator('[data-ask="sql"]')).toHaveText('Create and change its own database tables');
    await expect(asks.locator('[data-ask="routes"]')).toHaveText('Answer web requests under /api/plugins/guestbook/');
    await expect(asks.locator('[data-ask="emit:plugin.guestbook.*"]')).toHaveText('Send events named plugin.guestbook.…');
    await page.screenshot({ path: shots('02b-catalog-entry'), fullPage: true });

    // Consent first: cancelling installs nothing.
    await page.getByRole('button', { name: 'Install and enable' }).click();
    const consent = page.getByRole('dialog', { name: 'Install Guestbook 0.1.0?' });
    await expect(consent.locator('[data-ask="cron"]')).toHaveText('Run scheduled jobs in the background');
    await expect(consent.getByRole('button', { name: 'Accept and install' })).toBeDisabled();
    await consent.getByRole('button', { name: 'Cancel' }).click();
    await expect(page.getByText('Not installed: cancelled.')).toBeVisible();
    expect((await admin(request, 'GET', '/api/admin/plugins/guestbook')).status).toBe(404);

    // Accepted: installed and enabled in one step, with progress.
    await page.getByRole('button', { name: 'Install and enable' }).click();
    await page.getByLabel('I accept what it asks for').check();
    await page.screenshot({ path: shots('02c-consent') });
    await consent.getByRole('button', { name: 'Accept and install' }).click();
    await expect(page.getByRole('progressbar', { name: 'Installing Guestbook' })).toBeVisible();
    await expect(page.locator('#toasts')).toContainText('Guestbook 0.1.0 installed and enabled');
    await expect(page.locator('[data-installed="active"]')).toContainText('Installed: 0.1.0');
    expect((await request.get('/api/plugins/guestbook/entries')).status()).toBe(200);

    // The audit names the account that installed it and what it accepted.
    const { body } = await admin(request, 'GET', '/api/admin/audit?plugin=guestbook');
    const rows = body.entries;
    expect(rows.find(r => r.to === 'installed' && !r.from).actor).toMatch(/^account \d+ \(admin\)$/);
    const granted = rows.find(r => (r.error || '').startsWith('granted on install:'));
    expect(granted.actor).toMatch(/\(admin\)$/);
    expect(granted.error).toContain('Run scheduled jobs in the background');

    // Its card now says what it is and links to its page.
    await page.getByRole('link', { name: 'Marketplace', exact: true }).first().click();
    await expect(entry.locator('[data-card-state="active"]')).toHaveText('active');
    await entry.getByRole('link', { name: 'Open Guestbook' }).click();
    await expect(page).toHaveURL(/\/admin\/plugins\/guestbook\/overview$/);
    // (The next test starts from a disabled guestbook.)
    expect((await admin(request, 'POST', '/api/admin/plugins/guestbook/disable')).status).toBe(200);
  });

  test('the toggle enables and disables, and the route, page, menu item and widget follow', async ({ page, request }) => {
    await signIn(page);
    await page.getByRole('link', { name: 'Plugins' }).click();
    const toggle = page.getByRole('switch', { name: 'Enabled: Guestbook' });
    await expect(toggle).not.toBeChecked();
    expect((await request.get('/api/plugins/guestbook/entries')).status()).toBe(404);
    await toggle.check();
    await expect(row(page, 'guestbook').locator('[data-state]')).toHaveText('active');
    await expect(toggle).toBeChecked();
    expect((await request.get('/api/plugins/guestbook/entries')).status()).toBe(200);
    await page.screenshot({ path: shots('03-plugins'), fullPage: true });

    // Its menu item (with the icon it names) leads to its page, rendered by its own module.
    const item = page.getByRole('navigation').getByRole('link', { name: 'Guestbook' });
    await expect(item.locator('svg[data-icon="book"]')).toBeVisible();
    await item.click();
    await expect(page).toHaveURL(/\/plugins\/guestbook$/);
    await page.getByLabel('Your name').fill('Ada');
    await page.getByLabel('Message').fill('Hello from the browser');
    await page.getByRole('button', { name: 'Sign' , exact: true }).click();
    await expect(page.locator('guestbook-page .gb-entries')).toContainText('Ada: Hello from the browser');
    await page.screenshot({ path: shots('04-plugin-page') });

    // Its widget is on the dashboard.
    await page.getByRole('link', { name: 'Dashboard' }).click();
    const widget = page.locator('[data-widget="guestbook:widget:latest"]');
    await expect(widget.locator('.guestbook-count')).toHaveText('1 entry');
    await page.screenshot({ path: shots('05-dashboard'), fullPage: true });

    // Disabled: route, menu item and widget vanish, without a reload.
    await page.getByRole('link', { name: 'Plugins' }).click();
    await page.getByRole('switch', { name: 'Enabled: Guestbook' }).uncheck();
    await expect(row(page, 'guestbook').locator('[data-state]')).toHaveText('inactive');
    await expect(page.locator('[data-menu-item="guestbook:menu_item:book"]')).toHaveCount(0);
    expect((await request.get('/api/plugins/guestbook/entries')).status()).toBe(404);
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
    await expect(widget).toHaveCount(0);
  });

  test('a refused enable reverts the toggle and says why', async ({ page }) => {
    await signIn(page);
    await page.getByRole('link', { name: 'Plugins' }).click();
    const toggle = page.getByRole('switch', { name: /Enabled: Enable-error|Enabled: enable-error/ });
    // A click, not check(): the refusal can revert the box before
    // Playwright looks at it again, which check() would report as failure.
    await toggle.click();
    await expect(page.locator('#toasts')).toContainText('Could not enable enable-error');
    await expect(row(page, 'enable-error').locator('[data-state]')).toHaveText('errored');
    await expect(page.getByRole('switch', { name: /Enabled: Enable-error|Enabled: enable-error/ })).not.toBeChecked();
    await expect(row(page, 'enable-error')).toContainText('refuses to start on purpose');
    await row(page, 'enable-error').getByRole('button', { name: 'Reset' }).click();
    await expect(row(page, 'enable-error').locator('[data-state]')).toHaveText('inactive');
  });

  test('state changed elsewhere shows up without a reload', async ({ page, request }) => {
    await signIn(page);
    await page.getByRole('link', { name: 'Plugins' }).click();
    await expect(row(page, 'activity').locator('[data-state]')).toHaveText('active');
    expect((await admin(request, 'POST', '/api/admin/plugins/activity/disable')).status).toBe(200);
    await expect(row(page, 'activity').locator('[data-state]')).toHaveText('inactive');
    expect((await admin(request, 'POST', '/api/admin/plugins/activity/enable')).status).toBe(200);
    await expect(row(page, 'activity').locator('[data-state]')).toHaveText('active');
  });

  test('the detail page draws the metrics history', async ({ page, request }) => {
    // The runtime samples every 10 s: wait for the first sample.
    await expect.poll(async () => (await admin(request, 'GET', '/api/admin/plugins/webhooks')).body.metrics_history.length,
      { timeout: 20_000 }).toBeGreaterThan(0);
    await signIn(page);
    await page.goto('/admin/plugins/webhooks/metrics');
    const calls = page.locator('figure[data-series^="Calls per"]');
    await expect(calls.locator('svg polyline')).toHaveCount(1);
    await expect(calls.locator('svg')).toHaveAttribute('aria-label', /samples, latest/);
    await expect(page.locator('figure[data-series="p99 latency (µs)"]')).toBeVisible();
    await page.screenshot({ path: shots('10-plugin-metrics'), fullPage: true });
    // What it may do, in words (webhooks: SQL, routes, cron, every event, any host).
    await page.locator('nav.tabs').getByRole('link', { name: 'Overview' }).click();
    const caps = page.locator('[data-capabilities]');
    await expect(caps.locator('[data-ask="sql"]')).toHaveText('Create and change its own database tables');
    await expect(caps.locator('[data-ask="kv"]')).toHaveCount(0);
    await expect(caps.locator('[data-ask="subscribe:*"]')).toHaveText('Receive every event on the bus, from every plugin and the host');
    await expect(caps.locator('[data-ask="network:*"]')).toHaveText('Connect to any address on the network or the internet');
    await page.screenshot({ path: shots('10-plugin-detail'), fullPage: true });
  });

  test('each call of a plugin is listed with its deadline, and the slowest plugins are named', async ({ page, request }) => {
    const { body } = await admin(request, 'GET', '/api/admin/plugins/faulty');
    const wasActive = body.state === 'active';
    if (!wasActive) expect((await admin(request, 'POST', '/api/admin/plugins/faulty/enable')).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await admin(request, 'GET', '/api/plugins/faulty/ok')).status).toBe(200);
    await signIn(page);
    await page.goto('/admin/plugins/faulty/metrics');
    const ok = page.locator('tr[data-call="route GET /ok"]');
    await expect(ok).toContainText('30.0 s');
    await expect(ok.locator('td').nth(3)).toHaveText(/^[1-9]\d*$/);
    await expect(page.locator('tr[data-call="lifecycle on_enable"]')).toBeVisible();
    await expect(page.locator('[data-lane]')).toContainText('of 64 calls running');
    await page.screenshot({ path: shots('10b-plugin-calls'), fullPage: true });
    await page.goto('/admin/plugins');
    await expect(page.locator('[data-slowest] tr[data-slow="faulty"]')).toBeVisible();
    await expect(page.locator('[data-safe-mode]')).toHaveCount(0);
    // Leave it as the next tests expect it.
    if (!wasActive) expect((await admin(request, 'POST', '/api/admin/plugins/faulty/disable')).status).toBe(200);
  });

  test('the settings form reads like a product: titles, limits, lists titled by content, errors in place', async ({ page }) => {
    await signIn(page);
    await page.goto('/admin/plugins/webhooks/settings');
    await expect(page).toHaveTitle('Settings · Webhooks · Plugboard');
    // Titles and descriptions from the schema, in its order, limits before typing.
    const labels = await page.locator('.schema-form label').allTextContents();
    expect(labels.slice(-3)).toEqual(['Attempts *'.replace(' *', ''), 'Wait between attempts (seconds)', 'Timeout (milliseconds)']);
    const attempts = page.getByLabel('Attempts', { exact: true });
    await expect(attempts).toHaveValue('5'); // the default
    await expect(page.locator('[data-pointer="/max_attempts"] .hint')).toContainText('How many times a delivery is tried');
    await expect(page.locator('[data-pointer="/max_attempts"] .limits')).toHaveText('(a whole number from 1 to 20; default 5)');
    await expect(attempts).toHaveAttribute('min', '1');

    // Two targets; each is titled by its URL as it is typed.
    await page.getByRole('button', { name: 'Add target' }).click();
    await page.getByLabel('URL').fill('http://first.example/hook');
    const first = page.locator('[data-pointer="/targets/0"]');
    await expect(page.locator('.item-title').first()).toHaveText('http://first.example/hook');
    await first.getByRole('button', { name: 'Add event' }).click();
    await page.locator('[data-pointer="/targets/0/events/0"] input').fill('user.*');
    await page.getByRole('button', { name: 'Add target' }).click();
    await page.locator('[data-pointer="/targets/1/url"] input').fill('ftp://nowhere');
    await expect(page.locator('[data-pointer="/targets/1/url"] input')).toHaveAttribute('placeholder', 'e.g. https://hooks.example.com/plugboard');
    // The first is removed: the second becomes /targets/0, and the server's
    // errors land beside its fields, in words.
    await page.getByRole('button', { name: 'Remove http://first.example/hook' }).click();
    await expect(page.locator('.item-title')).toHaveText(['ftp://nowhere']);
    await attempts.fill('0');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.locator('#toasts')).toContainText('Not saved: 3 fields need attention');
    await expect(page.locator('[data-pointer="/max_attempts"] .field-error')).toHaveText('must be at least 1');
    await expect(page.locator('[data-pointer="/targets/0/url"] .field-error')).toHaveText('is not in the expected form, for example https://hooks.example.com/plugboard');
    await expect(page.locator('[data-pointer="/targets/0/events"] .field-error')).toHaveText('needs at least 1 item');
    await expect(page.locator('.form-summary')).toContainText('3 fields need attention');
    await expect(attempts).toHaveAttribute('aria-invalid', 'true');
    // Focus on the first field to fix, in the form's order.
    await expect(page.locator('[data-pointer="/targets/0/url"] input')).toBeFocused();
    await page.screenshot({ path: shots('06-config-errors'), fullPage: true });

    await page.locator('[data-pointer="/targets/0/url"] input').fill('http://127.0.0.1:9/hook');
    await page.locator('[data-pointer="/targets/0"]').getByRole('button', { name: 'Add event' }).click();
    await page.locator('[data-pointer="/targets/0/events/0"] input').fill('user.*');
    await attempts.fill('3');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.locator('#toasts')).toContainText('Settings saved');
    await page.reload();
    await expect(page.getByLabel('Attempts', { exact: true })).toHaveValue('3');
    await expect(page.getByLabel('URL')).toHaveValue('http://127.0.0.1:9/hook');
    await expect(page.locator('.item-title')).toHaveText(['http://127.0.0.1:9/hook', 'user.*']);
  });

  test('a failing plugin widget shows an error box and the page keeps working', async ({ page, request }) => {
    expect((await admin(request, 'POST', '/api/admin/plugins/faulty/enable')).status).toBe(200);
    expect((await admin(request, 'POST', '/api/admin/plugins/guestbook/enable')).status).toBe(200);
    await signIn(page);
    const broken = page.locator('[data-widget="faulty:widget:broken"] .slot-error');
    await expect(broken).toContainText('could not be shown');
    await expect(page.locator('[data-widget="guestbook:widget:latest"] .guestbook-count')).toHaveText('1 entry');
    await page.screenshot({ path: shots('07-failing-widget'), fullPage: true });
    await page.getByRole('link', { name: 'Plugins' }).click();
    await expect(page.getByRole('heading', { name: 'Plugins', exact: true })).toBeVisible();
  });

  test('the plugin\'s admin widget and admin page render at their places', async ({ page }) => {
    await signIn(page);
    const summary = page.locator('[data-widget="guestbook:admin_widget:moderation"] .guestbook-moderation');
    await expect(summary).toContainText('1 to moderate');
    await page.getByRole('navigation').getByRole('link', { name: 'Moderation' }).click();
    await expect(page).toHaveURL(/\/admin\/plugins\/guestbook$/);
    // Its own page is a section of its plugin page, beside the host's.
    await expect(page.locator('nav.tabs a[aria-current="page"]')).toHaveText('Guestbook moderation');
    await expect(page).toHaveTitle('Guestbook moderation · Guestbook · Plugboard');
    await expect(page.locator('guestbook-admin tbody tr')).toHaveCount(1);
    await page.screenshot({ path: shots('08-admin-page') });
    await page.getByRole('button', { name: 'Delete entry 1 by Ada' }).click();
    await expect(page.locator('guestbook-admin tbody tr')).toHaveCount(0);
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await expect(summary).toContainText('0 to moderate');
  });

  test('a forged request is refused', async ({ page, request }) => {
    await signIn(page);
    // Same origin but without the session's CSRF token.
    const answer = await page.evaluate(async () => {
      const r = await fetch('/api/admin/plugins/activity/disable', { method: 'POST', credentials: 'same-origin' });
      return { status: r.status, body: await r.json() };
    });
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('csrf_failed');
    // From another site: a form posting to the admin API.
    const target = new URL('/api/admin/plugins/activity/disable', page.url()).href;
    await page.goto(`data:text/html,<form method="post" action="${target}"><button>go</button></form>`);
    await page.getByRole('button', { name: 'go' }).click();
    await expect(page.locator('body')).toContainText(/"code":"(unauthorized|csrf_failed)"/);
    const activity = await admin(request, 'GET', '/api/admin/plugins/activity');
    expect(activity.body.state).toBe('active');
  });

  test('a user sees only what users may see, filtered by the server', async ({ page, request }) => {
    const created = await admin(request, 'POST', '/api/admin/accounts', { username: 'ursula', password: 'user-pass-123', role: 'user' });
    expect(created.status).toBe(201);
    await signIn(page, 'ursula', 'user-pass-123');
    await expect(page.locator('#who')).toHaveText('ursula (user)');
    await expect(page.getByRole('link', { name: 'Plugins' })).toHaveCount(0);
    const manifest = await page.evaluate(async () => (await fetch('/api/ui/manifest')).json());
    expect(manifest.viewer.role).toBe('user');
    expect(manifest.contributions.every(c => c.role === 'user')).toBe(true);
    expect(manifest.contributions.map(c => c.id)).toContain('guestbook:page:book');
    expect(manifest.contributions.some(c => c.kind === 'admin_page' || c.kind === 'admin_widget')).toBe(false);
    await expect(page.locator('[data-widget="guestbook:widget:latest"]')).toBeVisible();
    const status = await page.evaluate(async () => (await fetch('/api/admin/plugins')).status);
    expect(status).toBe(403);
  });

  test('the settings page creates accounts through the filters and opens self-registration', async ({ page, request }) => {
    await signIn(page);
    await page.getByRole('link', { name: 'Settings' }).click();
    await expect(page.getByRole('heading', { name: 'Settings' })).toBeVisible();
    const open = page.getByRole('switch', { name: /Anyone may create an account/ });
    await expect(open).not.toBeChecked();
    // The username-policy filter normalises the name …
    await page.getByLabel('Username').fill('  Wendy ');
    await page.getByLabel(/^Password/).fill('wendy-pass-1');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.locator('tr[data-user="wendy"]')).toBeVisible();
    // … and refuses reserved names, saying why.
    await page.getByLabel('Username').fill('root');
    await page.getByLabel(/^Password/).fill('root-pass-12');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.locator('#new-user-error')).toContainText('reserved');
    await open.check();
    await expect(page.locator('#toasts')).toContainText('Self-registration is on');
    await page.screenshot({ path: shots('10-settings'), fullPage: true });
    // A visitor creates an account from the sign-in page and is signed in.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByRole('heading', { name: 'Sign in to Plugboard' })).toBeVisible();
    const register = page.getByRole('button', { name: 'Create an account with this name and password' });
    await expect(register).toBeVisible();
    await page.getByLabel('Username').fill('Vera');
    await page.getByLabel('Password').fill('vera-pass-12');
    await register.click();
    await expect(page.locator('#who')).toHaveText('vera (user)');
    const activity = (await admin(request, 'GET', '/api/plugins/activity/recent')).body;
    expect(activity.events.slice(0, 2).map(e => `${e.hook} ${e.subject}`)).toEqual(['user.login vera', 'user.created vera']);
    expect((await admin(request, 'PUT', '/api/admin/settings', { self_registration: false })).status).toBe(200);
  });

  test('signs out, and is readable on a narrow screen', async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 800 });
    await signIn(page);
    await page.getByRole('link', { name: 'Plugins' }).click();
    await expect(page.getByRole('heading', { name: 'Plugins', exact: true })).toBeVisible();
    await page.screenshot({ path: shots('09-narrow-plugins'), fullPage: true });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByRole('heading', { name: 'Sign in to Plugboard' })).toBeVisible();
    const status = await page.evaluate(async () => (await fetch('/api/auth/session')).status);
    expect(status).toBe(401);
  });
});
