// Imports and exports: a CSV file with one bad line imported into a public
// list with a consent statement (column mapping preview, live progress, the
// per-line report, the new contacts in the table); suppressed addresses
// refused, and let in again only by an owner who says so; a list's export
// downloaded as CSV and JSON.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, launchBrowser, newPage, assertClean, screenshot, signIn } from './helpers.mjs';
import { api } from './helpers-data.mjs';

let server;
let browser;
let owner;
const lists = {};

const CSV = [
  'E-mail;Voornaam;Stad',
  'anna@example.be;Anna;Gent',
  'bert@example.be;Bert;Antwerpen',
  'not-an-address;Carl;Brugge',
  'dirk@example.be;Dirk;Leuven',
  '',
].join('\r\n');

async function chooseFile(page, name, text) {
  await page.getByLabel('CSV file').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });
  await page.locator('#import-preview').waitFor();
}

before(async () => {
  server = await startServer({ name: 'Boekhandel Import' });
  server.user('owner@example.be', 'owner');
  server.user('admin@example.be', 'admin');
  browser = await launchBrowser();
  owner = await newPage(browser, server);
  await signIn(owner, 'owner@example.be');
  await owner.getByRole('heading', { name: 'Contacts' }).waitFor();
  await api(owner, 'POST', '/fields', { key: 'first_name', label: 'First name', type: 'text', sensitive: false });
  lists.news = (await api(owner, 'POST', '/lists', { name: 'Nieuwsbrief', public: true, description: 'Monthly' })).id;
  lists.customers = (await api(owner, 'POST', '/lists', { name: 'Klanten', public: false })).id;
});

after(async () => {
  try {
    await owner?.context().close();
    await browser?.close();
  } finally {
    await server?.stop();
  }
});

test('an owner imports a CSV with one bad line into a public list and reads the report', async () => {
  const page = owner;
  await page.locator('#import-contacts').click();
  await page.getByRole('heading', { name: 'Import contacts' }).waitFor();
  assert.equal(await page.title(), 'Import contacts — Postbode');

  // The preview: the header, the first lines, where each column goes.
  await chooseFile(page, 'klanten-lente.csv', CSV);
  const preview = page.locator('#import-preview');
  assert.deepEqual(await preview.locator('.map-name').allInnerTexts(), ['E-mail', 'Voornaam', 'Stad']);
  assert.equal(await preview.locator('tbody tr').count(), 4, 'the sample lines are shown');
  assert.match(await preview.locator('tbody').innerText(), /anna@example\.be\s+Anna\s+Gent/);
  assert.equal(await page.getByLabel('Column 1 “E-mail” goes to').inputValue(), 'email', 'the email column is recognised');
  assert.equal(await page.getByLabel('Column 2 “Voornaam” goes to').inputValue(), '', 'an unknown column is left out');
  assert.match(await page.locator('.map-summary').innerText(), /separated by “;”.*2 columns are left out/s);
  await page.getByLabel('Column 2 “Voornaam” goes to').selectOption('first_name');
  assert.match(await page.locator('.map-summary').innerText(), /1 column is left out/);

  // A public list without a statement: the server's refusal shows at the statement.
  await page.getByLabel('Nieuwsbrief').check();
  assert.ok(await page.getByText('A public list is selected').isVisible());
  await page.getByRole('button', { name: 'Start the import' }).click();
  const consentError = page.locator('fieldset.consent-fieldset > .field-error');
  await consentError.waitFor();
  assert.match(await consentError.innerText(), /public list|consent|statement/i);

  await page.getByLabel('Legal basis').selectOption('consent');
  await page.getByLabel('How the address was obtained').fill('Signed up on the paper list at the shop counter, spring 2026.');
  await screenshot(page, 'import-form');
  await page.getByRole('button', { name: 'Start the import' }).click();

  // The progress bar reaches the end; the report names the bad line.
  await page.waitForURL(/#\/imports\/[0-9A-Za-z]+$/);
  await page.locator('#import-done').waitFor({ timeout: 30000 });
  assert.match(await page.title(), /^Import — Postbode$/);
  const bar = page.locator('progress.progress');
  const [value, max] = await bar.evaluate((el) => [el.value, el.max]);
  assert.ok(max >= 1 && value === max, `the progress bar is full (${value}/${max})`);
  assert.equal(await page.locator('.import-phase .badge').innerText(), 'Done');
  const count = async (key) => (await page.locator(`[data-count="${key}"] .stat-value`).innerText()).trim();
  assert.equal(await count('added'), '3');
  assert.equal(await count('invalid'), '1');
  assert.equal(await count('suppressed'), '0');
  const rejected = page.locator('#import-report tbody tr');
  assert.equal(await rejected.count(), 1);
  assert.equal(await rejected.getAttribute('data-line'), '4', 'the bad line is line 4 of the file');
  assert.match(await rejected.innerText(), /not a valid address/i);
  await screenshot(page, 'import-report');

  // The new contacts, with the mapped field and the statement.
  await page.getByRole('link', { name: 'See the contacts of “Nieuwsbrief”' }).click();
  await page.waitForURL(/#\/contacts\?list=/);
  await page.locator('a.contact-email', { hasText: 'dirk@example.be' }).waitFor();
  assert.deepEqual((await page.locator('a.contact-email').allInnerTexts()).sort(), ['anna@example.be', 'bert@example.be', 'dirk@example.be']);
  await page.locator('a.contact-email', { hasText: 'anna@example.be' }).click();
  await page.getByRole('heading', { name: 'anna@example.be' }).waitFor();
  assert.match(await page.locator('main').innerText(), /First name\s+Anna/);
  const membership = page.locator('tr[data-list-id]');
  assert.match(await membership.innerText(), /Nieuwsbrief/);
  assert.equal(await membership.locator('code').count(), 1, 'the membership names the import’s statement');
  assertClean(page);
});

test('the members of a list download as CSV and as JSON', async () => {
  const page = owner;
  await page.getByRole('link', { name: 'Exports' }).click();
  await page.getByRole('heading', { name: 'Exports' }).waitFor();
  assert.equal(await page.title(), 'Exports — Postbode');
  const row = page.locator('tr[data-list="Nieuwsbrief"]');
  assert.match(await row.innerText(), /3 members/);
  await screenshot(page, 'exports');

  const [csv] = await Promise.all([page.waitForEvent('download'), row.locator('[data-export=csv]').click()]);
  assert.match(csv.suggestedFilename(), /\.csv$/);
  const csvText = readFileSync(await csv.path(), 'utf8');
  for (const a of ['anna@example.be', 'bert@example.be', 'dirk@example.be']) assert.ok(csvText.includes(a), `the CSV holds ${a}`);
  assert.ok(!csvText.includes('not-an-address'));
  assert.match(csvText.split(/\r?\n/)[0], /email/i, 'the CSV starts with its header');

  const [json] = await Promise.all([page.waitForEvent('download'), row.locator('[data-export=json]').click()]);
  const parsed = JSON.parse(readFileSync(await json.path(), 'utf8'));
  assert.ok(JSON.stringify(parsed).includes('bert@example.be'), 'the JSON holds the members');
  assertClean(page);
});

test('suppressed addresses are refused; an owner can let them in again with a fresh statement', async () => {
  const page = owner;
  await api(page, 'POST', '/erasures', { email: 'bert@example.be' });
  const again = 'email,first_name\nbert@example.be,Bert\neva@example.be,Eva\n';

  await page.goto(`/#/imports?list=${lists.customers}`);
  await page.getByRole('heading', { name: 'Import contacts' }).waitFor();
  await chooseFile(page, 'again.csv', again);
  assert.equal(await page.getByLabel('Column 2 “first_name” goes to').inputValue(), 'first_name', 'a header named like a field maps to it');
  assert.ok(await page.getByLabel('Klanten').isChecked(), 'the list the screen was opened for is chosen');
  await page.getByRole('button', { name: 'Start the import' }).click();
  await page.locator('#import-done').waitFor({ timeout: 30000 });
  assert.equal((await page.locator('[data-count="suppressed"] .stat-value').innerText()).trim(), '1');
  assert.equal((await page.locator('[data-count="added"] .stat-value').innerText()).trim(), '1');
  assert.match(await page.locator('#import-report tbody tr[data-line="2"]').innerText(), /suppressed/i);

  // The owner's override: a warning, and a fresh statement.
  await page.goto(`/#/imports?list=${lists.customers}`);
  await page.getByRole('heading', { name: 'Import contacts' }).waitFor();
  await chooseFile(page, 'again.csv', again);
  const warning = page.getByText('Only when these people gave their consent anew.');
  assert.ok(await warning.isHidden());
  await page.getByLabel('Add suppressed addresses again').check();
  assert.ok(await warning.isVisible(), 'the override comes with a warning');
  await page.getByLabel('Legal basis').selectOption('consent');
  await page.getByLabel('How the address was obtained').fill('Bert asked to be added again, by mail of 2 April 2026.');
  await screenshot(page, 'import-override');
  await page.getByRole('button', { name: 'Start the import' }).click();
  await page.locator('#import-done').waitFor({ timeout: 30000 });
  assert.equal((await page.locator('[data-count="suppressed"] .stat-value').innerText()).trim(), '0');
  assert.equal((await page.locator('[data-count="added"] .stat-value').innerText()).trim(), '1', 'Bert is back');
  assertClean(page);

  // An admin imports, but is never offered the override.
  const admin = await newPage(browser, server);
  await signIn(admin, 'admin@example.be');
  await admin.getByRole('heading', { name: 'Contacts' }).waitFor();
  await admin.goto('/#/imports');
  await admin.getByRole('heading', { name: 'Import contacts' }).waitFor();
  assert.equal(await admin.getByLabel('Add suppressed addresses again').count(), 0);
  assertClean(admin);
  await admin.context().close();
});
