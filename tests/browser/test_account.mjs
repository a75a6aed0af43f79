// The account's screens: users and roles, API keys, the audit log, editing
// and deleting fields and lists, storage limitation, and the set-password
// page an invitation link opens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, assertClean, screenshot, signIn } from './helpers.mjs';

let server;
let browser;
let page;

before(async () => {
  server = await startServer({ name: 'Drukkerij Janssens' });
  browser = await launchBrowser();
  server.user('owner@example.be', 'owner');
  page = await newPage(browser, server);
  await signIn(page, 'owner@example.be');
  await page.getByRole('heading', { name: 'Contacts' }).waitFor();
});

after(async () => {
  try {
    await page?.context().close();
    await browser?.close();
  } finally {
    await server?.stop();
  }
});

test('users: invite, change a role, remove after confirming', async () => {
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
  assert.match(await page.title(), /^Users — Postbode$/);
  assert.match(await page.locator('tr[data-user="owner@example.be"]').innerText(), /\(you\)/);

  // A bad address: the error is under the email field.
  await page.getByLabel('Email address').fill('nope');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  const err = page.locator('#invite-form .form-field:has(input[name=email]) .field-error');
  await err.waitFor();
  assert.match(await err.innerText(), /address|valid/i);

  await page.getByLabel('Email address').fill('an@example.be');
  await page.getByLabel('Role').selectOption('author');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  const row = page.locator('tr[data-user="an@example.be"]');
  await row.waitFor();
  assert.match(await row.innerText(), /author/i);

  await row.getByRole('button', { name: 'Change role' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('New role for an@example.be').selectOption('admin');
  await dialog.getByRole('button', { name: 'Change role' }).click();
  await page.getByText('an@example.be is now admin.').waitFor();
  assert.match(await page.locator('tr[data-user="an@example.be"]').innerText(), /admin/i);
  await screenshot(page, 'users');

  // Removing asks first; cancelling keeps the user.
  await page.locator('tr[data-user="an@example.be"]').getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await page.locator('tr[data-user="an@example.be"]').count(), 1);
  await page.locator('tr[data-user="an@example.be"]').getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Remove user' }).click();
  await page.locator('tr[data-user="an@example.be"]').waitFor({ state: 'detached' });
  assertClean(page);
});

test('API keys: the token is shown once, and a revoked key is gone', async () => {
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByRole('heading', { name: 'API keys', exact: true }).waitFor();
  await page.getByText('No API keys').waitFor();
  await page.getByLabel('Name').fill('CRM sync');
  await page.getByRole('button', { name: 'Create key' }).click();
  const token = (await page.locator('#new-key-token').innerText()).trim();
  assert.ok(token.length >= 20, 'the token is shown');
  const row = page.locator('tbody tr', { hasText: 'CRM sync' });
  await row.waitFor();
  assert.doesNotMatch(await page.locator('table').innerText(), new RegExp(token), 'the list never shows the token');

  // The token works against the API.
  const reply = await page.evaluate(async (t) => (await fetch('/api/v1/fields', { headers: { Authorization: `Bearer ${t}` }, credentials: 'omit' })).status, token);
  assert.equal(reply, 200);
  await screenshot(page, 'api-keys');

  await row.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
  await page.getByText('No API keys').waitFor();
  const after = await page.evaluate(async (t) => (await fetch('/api/v1/fields', { headers: { Authorization: `Bearer ${t}` }, credentials: 'omit' })).status, token);
  assert.equal(after, 401);
  assertClean(page);
});

test('fields and lists can be edited and deleted after confirming', async () => {
  await page.goto('/#/fields');
  await page.getByLabel('Label').fill('Company');
  await page.getByRole('button', { name: 'Add field' }).click();
  const row = page.locator('tr[data-field-key="company"]');
  await row.waitFor();
  await row.getByRole('button', { name: 'Edit' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Label').fill('Company name');
  await dialog.getByLabel('Sensitive').check();
  await dialog.getByRole('button', { name: 'Save' }).click();
  await page.locator('tr[data-field-key="company"]', { hasText: 'Company name' }).waitFor();
  assert.match(await page.locator('tr[data-field-key="company"]').innerText(), /Sensitive/);
  await page.locator('tr[data-field-key="company"]').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete field' }).click();
  await page.getByText('No fields yet').waitFor();

  await page.goto('/#/lists');
  await page.getByLabel('Name').fill('Drukwerk');
  await page.getByRole('button', { name: 'Create list' }).click();
  const list = page.locator('tr[data-list="Drukwerk"]');
  await list.waitFor();
  assert.match(await list.innerText(), /Private/);
  await list.getByRole('button', { name: 'Edit' }).click();
  await page.getByRole('dialog').getByLabel('Name').fill('Drukwerk nieuws');
  await page.getByRole('dialog').getByLabel('Public list').check();
  await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
  const edited = page.locator('tr[data-list="Drukwerk nieuws"]');
  await edited.waitFor();
  assert.match(await edited.innerText(), /Public/);
  await edited.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete list' }).click();
  await page.getByText('No lists yet').waitFor();
  assertClean(page);
});

test('account settings: tracking and storage limitation are saved, or the error shows', async () => {
  await page.goto('/#/settings');
  await page.getByRole('heading', { name: 'Account settings' }).waitFor();
  await page.getByLabel('Off', { exact: true }).check();
  await page.locator('#settings-tracking').getByRole('button', { name: 'Save' }).click();
  await page.getByText('Tracking setting saved.').waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'Account settings' }).waitFor();
  assert.ok(await page.getByLabel('Off', { exact: true }).isChecked(), 'the choice was stored');

  await page.getByLabel('Erase contacts on no list after (days)').fill('-3');
  await page.locator('#settings-storage').getByRole('button', { name: 'Save' }).click();
  const err = page.locator('#settings-storage .form-field:has(input[name=erase_unlisted_after_days]) .field-error');
  await err.waitFor();
  assert.match(await err.innerText(), /whole number/);

  await page.getByLabel('Erase contacts on no list after (days)').fill('365');
  await page.locator('#settings-storage').getByRole('button', { name: 'Save' }).click();
  // Saved where the server knows the keys; else its error is shown like any other.
  const outcome = await Promise.race([
    page.getByText('Storage limitation saved.').waitFor().then(() => 'saved'),
    page.locator('#settings-storage .form-alert:not([hidden]), #settings-storage .field-error:not([hidden])').first().waitFor().then(() => 'error'),
  ]);
  if (outcome === 'saved') {
    await page.reload();
    await page.getByRole('heading', { name: 'Account settings' }).waitFor();
    assert.equal(await page.getByLabel('Erase contacts on no list after (days)').inputValue(), '365');
  }
  await screenshot(page, 'settings-saved');
  assertClean(page);
});

test('the audit log shows what was done, and the set-password page of an invitation works', async () => {
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  await page.locator('table').waitFor();
  const text = await page.locator('table').innerText();
  assert.match(text, /owner@example\.be/, 'actors are named');
  assert.ok(await page.locator('tbody tr').count() >= 3, 'several actions are recorded');
  await screenshot(page, 'audit');

  // A user created without a password gets a set-password link (here from the CLI).
  const out = server.cli(['user', 'create', '--account', server.accountId, '--role', 'admin', 'new@example.be']);
  const token = /#token=([A-Za-z0-9_-]+)/.exec(out)[1];
  const other = await newPage(browser, server, { width: 390, height: 800 });
  await other.goto(`/reset-password#token=${token}`);
  await other.getByRole('heading', { name: 'Choose a password' }).waitFor();
  assert.ok(!(await other.url()).includes(token), 'the token leaves the address bar');
  await other.getByLabel('New password').fill('short');
  await other.getByLabel('The same password again').fill('short');
  await other.getByRole('button', { name: 'Set password' }).click();
  await other.locator('#password-error').waitFor();
  await other.getByLabel('New password').fill('plum orchard lantern seventeen');
  await other.getByLabel('The same password again').fill('plum orchard lantern seventeen');
  await other.getByRole('button', { name: 'Set password' }).click();
  await other.getByText('Your password is set.').waitFor();
  await screenshot(other, 'reset-password');
  await other.getByRole('link', { name: 'Sign in' }).click();
  await signIn(other, 'new@example.be', 'plum orchard lantern seventeen');
  await other.getByRole('heading', { name: 'Contacts' }).waitFor();
  assertClean(other);
  await other.context().close();
  assertClean(page);
});
