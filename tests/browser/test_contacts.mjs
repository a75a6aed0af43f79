// Fields, lists and contacts: a sensitive field, a public list, a contact
// added with a consent statement and a PNG screenshot as evidence, errors
// next to their field, an author's masked view, and the 360 px layout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, launchBrowser, newPage, assertClean, screenshot, signIn, shots } from './helpers.mjs';

let server;
let browser;
let owner; // a signed-in page of the owner, shared by the tests in order

before(async () => {
  server = await startServer({ name: 'Fietsen Peeters' });
  browser = await launchBrowser();
  server.user('owner@example.be', 'owner');
  server.user('author@example.be', 'author');
  owner = await newPage(browser, server);
  await signIn(owner, 'owner@example.be');
  await owner.getByRole('heading', { name: 'Contacts' }).waitFor();
});

after(async () => {
  try {
    await owner?.context().close();
    await browser?.close();
  } finally {
    await server?.stop();
  }
});

test('an owner creates a sensitive field and a public list', async () => {
  const page = owner;
  await page.getByRole('link', { name: 'Fields' }).click();
  await page.getByRole('heading', { name: 'Fields', exact: true }).waitFor();
  assert.match(await page.title(), /^Fields — Postbode$/);
  await page.getByText('No fields yet').waitFor();

  await page.getByLabel('Label').fill('First name');
  assert.equal(await page.getByLabel('Key').inputValue(), 'first_name', 'the key follows the label');
  await page.getByRole('button', { name: 'Add field' }).click();
  await page.locator('tr[data-field-key="first_name"]').waitFor();

  await page.getByLabel('Label').fill('Allergies');
  await page.getByLabel('Sensitive').check();
  await page.getByRole('button', { name: 'Add field' }).click();
  const row = page.locator('tr[data-field-key="allergies"]');
  await row.waitFor();
  assert.match(await row.innerText(), /Sensitive · encrypted/);
  assert.doesNotMatch(await page.locator('tr[data-field-key="first_name"]').innerText(), /Sensitive/);

  // A bad key: the server's error shows under the key.
  await page.getByLabel('Label').fill('Bad');
  await page.getByLabel('Key').fill('9 bad key');
  await page.getByRole('button', { name: 'Add field' }).click();
  const keyError = page.locator('#field-form .form-field:has(input[name=key]) .field-error');
  await keyError.waitFor();
  assert.ok((await keyError.innerText()).length > 5);
  assert.equal(await page.getByLabel('Key').getAttribute('aria-invalid'), 'true');
  await screenshot(page, 'fields');

  await page.getByRole('link', { name: 'Lists' }).click();
  await page.getByRole('heading', { name: 'Lists', exact: true }).waitFor();
  await page.getByLabel('Name').fill('Nieuwsbrief');
  await page.getByLabel('Description').fill('Monthly news from the shop.');
  await page.getByLabel('Public list').check();
  await page.getByRole('button', { name: 'Create list' }).click();
  const list = page.locator('tr[data-list="Nieuwsbrief"]');
  await list.waitFor();
  assert.match(await list.innerText(), /Public · consent required/);
  assert.equal((await list.locator('.member-count').innerText()).trim(), '0');

  await page.getByLabel('Name').fill('Klanten');
  await page.getByRole('button', { name: 'Create list' }).click();
  await page.locator('tr[data-list="Klanten"]').waitFor();
  assert.match(await page.locator('tr[data-list="Klanten"]').innerText(), /Private/);
  await screenshot(page, 'lists');
  assertClean(page);
});

test('errors show next to their field: a bad address, a public list without consent', async () => {
  const page = owner;
  await page.goto('/#/contacts/new');
  await page.getByRole('heading', { name: 'Add contact' }).waitFor();
  assert.match(await page.title(), /^Add contact — Postbode$/);

  await page.getByLabel('Email address').fill('not an address');
  await page.getByRole('button', { name: 'Add contact' }).click();
  const emailError = page.locator('#contact-form .form-field:has(input[name=email]) .field-error');
  await emailError.waitFor();
  assert.match(await emailError.innerText(), /not valid|address/i);
  assert.equal(await page.getByLabel('Email address').getAttribute('aria-invalid'), 'true');

  await page.getByLabel('Email address').fill('lotte@example.be');
  await page.getByLabel('Nieuwsbrief').check();
  assert.ok(await page.getByText('A public list is selected').isVisible());
  await page.getByRole('button', { name: 'Add contact' }).click();
  const consentError = page.locator('fieldset.consent-fieldset > .field-error');
  await consentError.waitFor();
  assert.match(await consentError.innerText(), /public list/i);
  assert.ok(await emailError.isHidden(), 'the old error is gone');
  await screenshot(page, 'contact-errors');

  // A new statement without its basis: the error is under the basis select.
  await page.getByLabel('How the address was obtained').fill('Signed up at the shop counter.');
  await page.getByRole('button', { name: 'Add contact' }).click();
  const basisError = page.locator('.form-field:has(select[name=basis]) .field-error');
  await basisError.waitFor();
  assert.match(await basisError.innerText(), /basis/i);
  assertClean(page);
});

test('an owner adds a contact with a consent statement and a screenshot as evidence', async () => {
  const page = owner;
  // The evidence: a real PNG screenshot (of the lists screen), as a marketer would attach.
  await page.goto('/#/lists');
  await page.locator('tr[data-list="Nieuwsbrief"]').waitFor();
  const evidence = path.join(shots, 'evidence-signup-form.png');
  await page.screenshot({ path: evidence });

  await page.goto('/#/contacts/new');
  await page.getByRole('heading', { name: 'Add contact' }).waitFor();
  await page.getByLabel('Email address').fill('lotte@example.be');
  await page.getByLabel('First name').fill('Lotte');
  await page.getByLabel('Allergies').fill('peanuts');
  await page.getByLabel('Nieuwsbrief').check();
  await page.getByLabel('Legal basis').selectOption('consent');
  assert.match(await page.locator('.basis-help').innerText(), /agreed/);
  await page.getByLabel('How the address was obtained').fill('Signed the paper form at our stand, Ghent bike fair, 3 March 2026.');
  await page.getByLabel('Evidence images').setInputFiles(evidence);
  const thumb = page.locator('.thumb.thumb-done');
  await thumb.waitFor();
  const img = thumb.locator('img.thumb-img');
  assert.ok(await img.evaluate((el) => el.complete && el.naturalWidth > 0), 'the thumbnail is drawn');
  assert.match(await thumb.innerText(), /Stored/);
  await screenshot(page, 'contact-new');

  await page.getByRole('button', { name: 'Add contact' }).click();
  await page.getByRole('heading', { name: 'lotte@example.be' }).waitFor();
  assert.match(await page.title(), /lotte@example\.be/);
  const details = await page.locator('main').innerText();
  assert.match(details, /Lotte/);
  assert.match(details, /peanuts/, 'the owner sees the sensitive value');
  const membership = page.locator('tr[data-list-id]');
  assert.equal(await membership.count(), 1);
  assert.match(await membership.innerText(), /Nieuwsbrief/);
  assert.match(await membership.innerText(), /subscribed/);
  assert.ok(await membership.locator('code').count() === 1, 'the membership names its consent statement');
  await screenshot(page, 'contact-page');

  // The table lists it; the list's member count went up.
  await page.getByRole('link', { name: 'All contacts' }).click();
  await page.locator('a.contact-email', { hasText: 'lotte@example.be' }).waitFor();
  await page.getByLabel('List').selectOption({ label: 'Nieuwsbrief (1)' });
  await page.waitForURL(/list=/);
  await page.locator('a.contact-email', { hasText: 'lotte@example.be' }).waitFor();

  // A second contact on the private list needs no statement.
  await page.goto('/#/contacts/new');
  await page.getByLabel('Email address').fill('jan@example.org');
  await page.getByLabel('Klanten').check();
  await page.getByRole('button', { name: 'Add contact' }).click();
  await page.getByRole('heading', { name: 'jan@example.org' }).waitFor();

  // Unsubscribe from the page, confirmed in a dialog.
  await page.getByRole('button', { name: 'Unsubscribe' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Unsubscribe' }).click();
  await page.locator('tr[data-list-id]', { hasText: 'unsubscribed' }).waitFor();

  await page.goto('/#/contacts');
  await page.locator('a.contact-email', { hasText: 'jan@example.org' }).waitFor();
  assert.equal(await page.locator('tbody tr').count(), 2);
  // Exact search finds one.
  await page.getByLabel('Find by exact address').fill('lotte@example.be');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('.search-result').getByText('Found:').waitFor();
  await screenshot(page, 'contacts');
  assertClean(page);
});

test('an author sees masked addresses and no add, import, settings or users controls', async () => {
  const page = await newPage(browser, server);
  await signIn(page, 'author@example.be');
  await page.getByRole('heading', { name: 'Contacts' }).waitFor();
  await page.locator('a.contact-email').first().waitFor();
  const emails = await page.locator('a.contact-email').allInnerTexts();
  assert.equal(emails.length, 2);
  for (const e of emails) {
    assert.match(e, /^[a-z]\*\*\*@\*\*\*\.[a-z]+$/, `masked: ${e}`);
  }
  assert.ok(emails.includes('l***@***.be'));
  assert.doesNotMatch(await page.locator('main').innerText(), /lotte@example\.be|jan@example\.org/);
  assert.ok(await page.locator('#masked-notice').isVisible());

  // No add or import control; the navigation has no settings, users or audit log.
  assert.equal(await page.getByRole('link', { name: 'Add contact' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /import/i }).count(), 0);
  assert.equal(await page.getByRole('link', { name: /import/i }).count(), 0);
  const nav = await page.locator('nav.sidenav').innerText();
  assert.doesNotMatch(nav, /Settings|Users|Audit log|Import|Export/);
  assert.match(nav, /Contacts/);
  await screenshot(page, 'author-contacts');

  // Exact search works, masked.
  await page.getByLabel('Find by exact address').fill('lotte@example.be');
  await page.getByRole('button', { name: 'Search' }).click();
  const found = page.locator('.search-result');
  await found.getByText('Found:').waitFor();
  assert.match(await found.innerText(), /l\*\*\*@\*\*\*\.be/);
  assert.doesNotMatch(await found.innerText(), /lotte@/);

  // The contact's page: masked, the sensitive value hidden, no subscribe controls.
  await found.getByRole('link').click();
  await page.locator('#contact-email').waitFor();
  assert.equal(await page.locator('#contact-email').innerText(), 'l***@***.be');
  const main = await page.locator('main').innerText();
  assert.match(main, /Hidden for your role/);
  assert.doesNotMatch(main, /peanuts/);
  assert.equal(await page.getByRole('button', { name: 'Unsubscribe' }).count(), 0);
  assert.equal(await page.locator('#subscribe-form').count(), 0);

  // Screens the role does not include say so, even when typed in.
  for (const [hash, title] of [['#/contacts/new', 'Add contact'], ['#/settings', 'Account settings'], ['#/users', 'Users']]) {
    await page.goto(`/${hash}`);
    await page.getByRole('heading', { name: 'Not available for your role' }).waitFor();
    assert.equal(await page.getByRole('heading', { name: title }).count(), 0);
  }
  // Lists and fields are read-only for an author.
  await page.goto('/#/lists');
  await page.locator('tr[data-list="Nieuwsbrief"]').waitFor();
  assert.equal(await page.locator('#list-form').count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Delete' }).count(), 0);
  assertClean(page);
  await page.context().close();
});

test('the contacts screen fits a 360 px wide phone without horizontal scrolling', async () => {
  const page = await newPage(browser, server, { width: 360, height: 740 });
  await signIn(page, 'owner@example.be');
  await page.getByRole('heading', { name: 'Contacts' }).waitFor();
  await page.locator('a.contact-email').first().waitFor();
  const overflow = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
    wide: [...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1).map((el) => el.tagName + '.' + el.className).slice(0, 5),
  }));
  assert.ok(overflow.scroll <= overflow.client, `no horizontal scroll (${overflow.scroll} > ${overflow.client}: ${overflow.wide.join(', ')})`);
  assert.equal(overflow.wide.length, 0, `elements past the right edge: ${overflow.wide.join(', ')}`);
  // The navigation folds into a menu button.
  assert.ok(await page.locator('nav.sidenav').isHidden());
  await page.getByRole('button', { name: 'Menu' }).click();
  assert.ok(await page.locator('nav.sidenav').isVisible());
  await screenshot(page, 'contacts-360-menu');
  await page.getByRole('button', { name: 'Menu' }).click();
  await screenshot(page, 'contacts-360');

  await page.goto('/#/contacts/new');
  await page.getByRole('heading', { name: 'Add contact' }).waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `the add-contact form fits (${width})`);
  await screenshot(page, 'contact-new-360');
  assertClean(page);
  await page.context().close();
});
