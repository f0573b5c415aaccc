// The details people notice (issue 15, first part): a title per page,
// times relative and local with the exact time on hover, and plurals.
// Runs after admin.spec.js (same server: the guestbook is installed).
const { test, expect } = require('@playwright/test');

const PASSWORD = process.env.PLUGBOARD_ADMIN_PASSWORD;

test('each page has its title, times read as times, counts as words', async ({ page }) => {
  await page.goto('/admin');
  await expect(page).toHaveTitle('Sign in · Plugboard');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveTitle('Dashboard · Plugboard');

  await page.goto('/admin/plugins');
  await expect(page).toHaveTitle('Plugins · Plugboard');

  // The old address of a plugin's page leads to its overview.
  await page.goto('/admin/detail/guestbook');
  await expect(page).toHaveURL(/\/admin\/plugins\/guestbook\/overview$/);
  await expect(page).toHaveTitle('Overview · Guestbook · Plugboard');
  await page.locator('nav.tabs').getByRole('link', { name: 'Audit' }).click();
  await expect(page).toHaveTitle('Audit · Guestbook · Plugboard');
  const times = page.locator('[data-audit] time');
  await expect(times.first()).toBeVisible();
  const first = times.first();
  // Relative words, not an ISO string; the exact local time on hover.
  expect(await first.textContent()).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
  expect(await first.getAttribute('datetime')).toMatch(/\d{4}-\d{2}-\d{2}T/);
  expect(await first.getAttribute('title')).toBeTruthy();

  await page.goto('/admin/marketplace');
  await expect(page).toHaveTitle('Marketplace · Plugboard');
  await expect(page.getByText(/— 3 entries/)).toBeVisible();

  await page.goto('/admin/nowhere');
  await expect(page).toHaveTitle('Not found · Plugboard');
});
