// The privacy centre: a person's history as a timeline (the statement, its
// evidence thumbnail), the subject-access report downloaded as a file, the
// log's verification, erasure after typing the address (the receipt, the
// receipts list), the erased address no longer found; erasure from a
// contact's page through the same confirmation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, launchBrowser, newPage, assertClean, screenshot, signIn } from './helpers.mjs';
import { api } from './helpers-data.mjs';

let server;
let browser;
let owner;
let events0 = 0;

before(async () => {
  server = await startServer({ name: 'Bakkerij Privacy' });
  server.user('owner@example.be', 'owner');
  browser = await launchBrowser();
  owner = await newPage(browser, server);
  await signIn(owner, 'owner@example.be');
  await owner.getByRole('heading', { name: 'Contacts' }).waitFor();
  // A public list; Lotte with a statement and a PNG screenshot as evidence; Jan without.
  const list = await api(owner, 'POST', '/lists', { name: 'Nieuwsbrief', public: true });
  const png = await owner.screenshot({ clip: { x: 0, y: 0, width: 320, height: 200 } });
  const evidence = await api(owner, 'POST', '/evidence', { raw: png.toString('base64'), type: 'image/png' });
  await api(owner, 'POST', '/contacts', {
    email: 'lotte@example.be', lists: [list.id],
    consent: { basis: 'consent', description: 'Ticked the newsletter box on the order form, 3 March 2026.', evidence_ids: [evidence.id] },
  });
  await api(owner, 'POST', '/contacts', {
    email: 'jan@example.org', lists: [list.id],
    consent: { basis: 'contract', description: 'Customer since 2024, invoice 1234.' },
  });
});

after(async () => {
  try {
    await owner?.context().close();
    await browser?.close();
  } finally {
    await server?.stop();
  }
});

test('the history of a person: a timeline with the statement and its evidence', async () => {
  const page = owner;
  await page.getByRole('link', { name: 'Privacy centre' }).click();
  await page.getByRole('heading', { name: 'Privacy centre' }).waitFor();
  assert.equal(await page.title(), 'Privacy centre — Postbode');

  // The consent log checks out.
  const verify = page.locator('#verify .verify');
  await verify.waitFor();
  assert.equal(await verify.getAttribute('data-ok'), 'yes');
  const text = await verify.innerText();
  assert.match(text, /Intact/);
  events0 = Number(text.match(/(\d+) events? checked/)[1]);
  assert.ok(events0 >= 4, `the events of both contacts are counted (${events0})`);

  await page.getByLabel('Email address').fill('lotte@example.be');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('heading', { name: 'lotte@example.be' }).waitFor();
  const timeline = page.locator('#timeline');
  const subscribed = timeline.locator('li[data-type="subscribed"]');
  assert.equal(await subscribed.count(), 1);
  const item = await subscribed.innerText();
  assert.match(item, /Subscribed/);
  assert.match(item, /Nieuwsbrief/, 'the event names its list');
  assert.match(item, /Web interface|REST API/, 'and its channel');
  assert.match(item, /owner@example\.be/, 'and who did it');
  assert.match(item, /Ticked the newsletter box on the order form/);
  assert.match(item, /Consent/, 'the statement’s legal basis');
  const thumb = subscribed.locator('.thumb.thumb-done');
  await thumb.waitFor();
  assert.ok(await thumb.locator('img').evaluate((img) => img.complete && img.naturalWidth === 320), 'the evidence thumbnail is the screenshot');
  assert.match(await page.locator('main').innerText(), /No campaign was sent to this person/);
  await screenshot(page, 'privacy-history');

  // The evidence, larger.
  await thumb.locator('button').click();
  const dialog = page.getByRole('dialog', { name: 'Evidence image' });
  await dialog.waitFor();
  assert.ok(await dialog.locator('img.evidence-large').evaluate((img) => img.naturalWidth === 320));
  await dialog.getByRole('button', { name: 'Close' }).click();
  assertClean(page);
});

test('the subject-access report downloads as a JSON file with the address', async () => {
  const page = owner;
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#subject-access').click()]);
  assert.match(download.suggestedFilename(), /^subject-access-lotte@example\.be\.json$/);
  const report = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.match(report.report, /subject access/i);
  assert.equal(report.data.contact.email, 'lotte@example.be');
  assert.ok(report.data.events.some((e) => e.type === 'subscribed'));
  assert.equal(Object.values(report.data.statements)[0].evidence.length, 1);
  assertClean(page);
});

test('erasure: the address typed to confirm, the receipt, the receipts list, the log still intact', async () => {
  const page = owner;
  await page.locator('#erase').click();
  const dialog = page.getByRole('dialog', { name: 'Erase this person?' });
  await dialog.waitFor();
  const go = dialog.getByRole('button', { name: 'Erase permanently' });
  assert.ok(await go.isDisabled(), 'nothing happens before the address is typed');
  await dialog.getByLabel('Type the address to confirm').fill('lotte@example.org');
  assert.ok(await go.isDisabled(), 'a different address does not unlock it');
  await screenshot(page, 'privacy-erase-confirm');
  await dialog.getByLabel('Type the address to confirm').fill('lotte@example.be');
  assert.ok(await go.isEnabled());
  await go.click();

  await page.locator('#erasure-done').waitFor();
  const receipt = page.locator('#history .receipt');
  const pseudonym = (await receipt.locator('.receipt-pseudonym').innerText()).trim();
  const receiptId = (await receipt.locator('.receipt-id').innerText()).trim();
  assert.ok(pseudonym.length > 4, 'the contact now has a pseudonym');
  const wiped = await receipt.locator('.receipt-wiped').innerText();
  assert.match(wiped, /the address/);
  assert.match(wiped, /1 evidence image/);
  assert.doesNotMatch(await receipt.innerText(), /lotte/, 'the receipt holds no personal data');
  await screenshot(page, 'privacy-receipt');

  // The receipts list has it; the log is intact with one more event ("erased").
  const row = page.locator(`#receipts tr[data-receipt="${receiptId}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), new RegExp(pseudonym));
  assert.match(await row.innerText(), /owner@example\.be/);
  await page.locator('#verify .verify').waitFor();
  await page.waitForFunction((n) => {
    const t = document.querySelector('#verify .verify-text');
    return t && new RegExp(`^${n + 1} events`).test(t.textContent);
  }, events0);
  assert.equal(await page.locator('#verify .verify').getAttribute('data-ok'), 'yes');

  // The address is no longer found.
  await page.getByLabel('Email address').fill('lotte@example.be');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('#not-found').waitFor();
  assert.match(await page.locator('#not-found').innerText(), /No one with this address/);
  await page.goto('/#/contacts');
  await page.getByLabel('Find by exact address').fill('lotte@example.be');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('.search-result').getByText('No contact has the address').waitFor();
  assertClean(page);
});

test('erasing from a contact’s page goes through the same confirmation', async () => {
  const page = owner;
  await page.goto('/#/contacts');
  await page.locator('a.contact-email', { hasText: 'jan@example.org' }).click();
  await page.getByRole('heading', { name: 'jan@example.org' }).waitFor();

  // Its history is one click away.
  await page.locator('#contact-history').click();
  await page.getByRole('heading', { name: 'jan@example.org' }).waitFor();
  assert.match(await page.locator('#timeline').innerText(), /Customer since 2024/);
  await page.goBack();
  await page.locator('#contact-erase').waitFor();

  await page.locator('#contact-erase').click();
  const dialog = page.getByRole('dialog', { name: 'Erase this person?' });
  await dialog.getByLabel('Type the address to confirm').fill('jan@example.org');
  await dialog.getByRole('button', { name: 'Erase permanently' }).click();
  const receipt = page.getByRole('dialog', { name: 'Erased: the receipt' });
  await receipt.waitFor();
  assert.match(await receipt.innerText(), /Request of the person/);
  await receipt.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('heading', { name: /^Erased contact/ }).waitFor();
  assert.match(await page.locator('main').innerText(), /erased/);
  assert.equal(await page.locator('#contact-erase').count(), 0, 'an erased contact offers no erasure');

  await page.goto('/#/privacy');
  await page.locator('#receipts tbody tr').nth(1).waitFor();
  assert.equal(await page.locator('#receipts tbody tr').count(), 2);
  await screenshot(page, 'privacy-centre');
  assertClean(page);
});
