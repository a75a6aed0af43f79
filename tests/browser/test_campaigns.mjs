// Campaigns end to end, through a real SMTP server (Postfix's smtp-sink,
// started by the test on a free port): the relay set up on the Sending
// screen, a campaign written with merge tags (a bad tag's error under the
// body first), previewed for a chosen contact, test-sent, sent to its list,
// followed until "sent", its statistics with their charts; then a recipient
// erased in the privacy centre, and the statistics unchanged. DKIM: a key
// generated and its DNS record shown. An author writes campaigns but sends
// none, and sees no privacy, import, export, erasure or settings controls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, launchBrowser, newPage, assertClean, screenshot, signIn, shots } from './helpers.mjs';
import { api, startSmtpSink, eventually } from './helpers-data.mjs';

let server;
let sink;
let browser;
let owner;
let campaignId;
let listId;
const RECIPIENTS = ['anna@example.be', 'bert@example.be', 'carla@example.be'];

before(async () => {
  sink = await startSmtpSink();
  server = await startServer({ name: 'Fietsen Campagne' });
  server.user('owner@example.be', 'owner');
  server.user('author@example.be', 'author');
  browser = await launchBrowser();
  owner = await newPage(browser, server);
  await signIn(owner, 'owner@example.be');
  await owner.getByRole('heading', { name: 'Contacts' }).waitFor();
  await api(owner, 'POST', '/fields', { key: 'first_name', label: 'First name', type: 'text', sensitive: false });
  listId = (await api(owner, 'POST', '/lists', { name: 'Nieuwsbrief', public: true })).id;
  await api(owner, 'POST', '/lists', { name: 'Leeg', public: false });
  const consent = { basis: 'consent', description: 'Newsletter box on the web shop, spring 2026.' };
  await api(owner, 'POST', '/contacts', { email: RECIPIENTS[0], fields: { first_name: 'Anna' }, lists: [listId], consent });
  await api(owner, 'POST', '/contacts', { email: RECIPIENTS[1], fields: { first_name: 'Bert' }, lists: [listId], consent });
  await api(owner, 'POST', '/contacts', { email: RECIPIENTS[2], lists: [listId], consent });
});

after(async () => {
  try {
    await owner?.context().close();
    await browser?.close();
  } finally {
    try {
      await server?.stop();
    } finally {
      await sink?.stop();
    }
  }
});

test('the SMTP relay is set up on the Sending screen', async () => {
  const page = owner;
  await page.getByRole('link', { name: 'Sending' }).click();
  await page.getByRole('heading', { name: 'Sending' }).waitFor();
  assert.equal(await page.title(), 'Sending — Postbode');
  await page.locator('#relay-status').getByText('No relay yet').waitFor();

  // No TLS is refused for a relay elsewhere: the error is under "Security".
  await page.getByLabel('Host').fill('smtp.example.org');
  await page.getByLabel('Security').selectOption('none');
  await page.getByRole('button', { name: 'Set up relay' }).click();
  const tlsError = page.locator('#smtp-form .form-field:has(select[name=tls]) .field-error');
  await tlsError.waitFor();
  assert.match(await tlsError.innerText(), /plain text|this host/i);

  await page.getByLabel('Host').fill('127.0.0.1');
  await page.getByLabel('Port').fill(String(sink.port));
  await page.getByRole('button', { name: 'Set up relay' }).click();
  await page.locator('#relay-status.notice-success').waitFor();
  assert.match(await page.locator('#relay-status').innerText(), new RegExp(`127\\.0\\.0\\.1:${sink.port}`));
  assert.equal(await page.getByLabel('Password').inputValue(), '', 'no password is ever shown');
  await screenshot(page, 'sending');
  assertClean(page);
});

test('a campaign with merge tags: a bad tag, the preview, a test, sending, statistics', async () => {
  const page = owner;
  await page.getByRole('link', { name: 'Campaigns', exact: true }).click();
  await page.getByRole('heading', { name: 'Campaigns', exact: true }).waitFor();
  await page.getByText('No campaigns yet').waitFor();
  await page.locator('#new-campaign').click();
  await page.getByRole('heading', { name: 'New campaign' }).waitFor();
  assert.equal(await page.title(), 'New campaign — Postbode');

  // The merge-tag help offers the account's fields.
  assert.deepEqual(await page.locator('#merge-tags [data-tag]').evaluateAll((els) => els.map((e) => e.dataset.tag)), ['email', 'unsubscribe_url', 'first_name']);

  await page.getByLabel('Name', { exact: true }).fill('Lente 2026');
  await page.getByLabel('Subject').fill('Nieuws voor {{ first_name | default: "jou" }}');
  await page.getByLabel('From').fill('Fietsen Peeters <nieuws@example.be>');
  await page.getByLabel('Nieuwsbrief').check();
  const body = page.getByLabel('HTML body');
  await body.fill('<h1>De lente is er</h1>\n<p>Dag {{ frist_name }},</p>');
  await page.getByRole('button', { name: 'Save draft' }).click();
  const bodyError = page.locator('#campaign-form .form-field:has(textarea[name=html]) .field-error');
  await bodyError.waitFor();
  assert.match(await bodyError.innerText(), /line 2/i, 'the error names the line');
  assert.match(await bodyError.innerText(), /frist_name/, 'and the tag');
  assert.equal(await body.getAttribute('aria-invalid'), 'true');
  await screenshot(page, 'campaign-bad-tag');

  // Fixed with the chip; saved as a draft.
  await body.fill('<style>h1 { color: #c2410c; }</style>\n<h1 style="font-size: 28px">De lente is er</h1>\n<p>Dag , onze nieuwe fietsen staan klaar.</p>\n<p><a href="https://example.be/lente">Bekijk ze</a> · <img src="https://example.be/logo.png" alt="logo"></p>\n<p><a href="{{ unsubscribe_url }}">Uitschrijven</a></p>');
  await body.evaluate((el) => { const at = el.value.indexOf('Dag ') + 4; el.focus(); el.setSelectionRange(at, at); });
  await page.locator('#merge-tags [data-tag="first_name"]').click();
  assert.match(await body.inputValue(), /Dag \{\{ first_name \}\}, onze/);
  await page.getByRole('button', { name: 'Save draft' }).click();
  await page.waitForURL(/#\/campaigns\/(?!new$)[0-9A-Za-z]+$/);
  campaignId = page.url().split('/').pop();
  await page.getByRole('heading', { name: 'Lente 2026' }).waitFor();
  assert.equal(await page.title(), 'Lente 2026 — Campaign — Postbode');
  assert.equal(await page.locator('.page-actions .campaign-state').innerText(), 'Draft');

  // The preview, as Anna and as Carla (who has no first name: the default).
  const frame = page.frameLocator('#preview-frame');
  await page.getByLabel('Show it as received by').selectOption({ label: 'anna@example.be' });
  await page.locator('#preview-subject', { hasText: 'Nieuws voor Anna' }).waitFor();
  await frame.locator('p', { hasText: 'Dag Anna, onze nieuwe fietsen' }).waitFor();
  assert.equal(await frame.locator('.pv-image').innerText(), '[image: logo]', 'remote images are left out of the preview');
  assert.match(await page.locator('#preview-text').innerText(), /Dag Anna, onze nieuwe fietsen/);
  await page.getByLabel('Show it as received by').selectOption({ label: 'carla@example.be' });
  await page.locator('#preview-subject', { hasText: 'Nieuws voor jou' }).waitFor();
  assert.equal(await page.locator('#preview-frame').getAttribute('sandbox'), '', 'the preview runs no script');
  await screenshot(page, 'campaign-editor');
  await page.locator('#preview-frame').screenshot({ path: path.join(shots, 'campaign-preview-frame.png') });

  // A test message.
  await page.getByLabel('Test addresses').fill('proef@example.be');
  await page.getByRole('button', { name: 'Send test' }).click();
  await page.locator('#test-results li[data-sent="yes"]').waitFor({ timeout: 30000 });
  await eventually(() => sink.messages().some((m) => m.includes('proef@example.be')), 'the test message at the sink');

  // Sending, confirmed; the page follows it until "sent".
  await page.getByRole('button', { name: 'Send…' }).click();
  const confirmDialog = page.getByRole('dialog', { name: 'Send this campaign now?' });
  assert.match(await confirmDialog.innerText(), /Nieuwsbrief.*up to 3 people/s);
  await confirmDialog.getByRole('button', { name: 'Send now' }).click();
  await page.locator('.send-state .campaign-state[data-state="sent"]').waitFor({ timeout: 60000 });
  const [value, max] = await page.locator('#send-box progress').evaluate((el) => [el.value, el.max]);
  assert.equal(max, 3);
  assert.equal(value, 3, 'the progress bar is full');
  assert.match(await page.locator('#send-counts').innerText(), /Sent 3 · deferred 0 · failed 0/);
  assert.equal(await page.getByLabel('HTML body').isDisabled(), true, 'a sent campaign cannot be edited');
  await screenshot(page, 'campaign-sent');

  // The sink has one message per member, merged.
  const mails = await eventually(() => { const m = sink.messages().filter((x) => !x.includes('proef@example.be')); return m.length >= 3 && m; }, 'three campaign messages');
  assert.equal(mails.length, 3);
  for (const to of RECIPIENTS) assert.ok(mails.some((m) => m.includes(to)), `a message to ${to}`);
  const decoded = mails.map((m) => m.replace(/=\r?\n/g, '').replace(/=3D/gi, '='));
  assert.ok(decoded.some((m) => m.includes('Dag Anna,')), 'the merge tag is filled in');

  // Two people click the tracked link, one opens the message (as their mail programs would).
  for (const m of decoded.filter((x) => /anna@|bert@/.test(x))) {
    const click = m.match(/https:\/\/127\.0\.0\.1:\d+\/c\/[^\s"'<>]+/);
    assert.ok(click, 'the message has a tracked link');
    const r = await page.request.get(click[0], { maxRedirects: 0 });
    assert.equal(r.status(), 302, 'the click redirects');
    assert.equal(r.headers().location, 'https://example.be/lente');
  }
  const open = decoded.find((x) => x.includes('anna@')).match(/https:\/\/127\.0\.0\.1:\d+\/o\/[^\s"'<>]+/);
  assert.ok(open, 'the message has an open pixel (aggregate tracking)');
  assert.equal((await page.request.get(open[0])).status(), 200);

  // The statistics: the numbers and the charts.
  await page.locator('#stats-link').click();
  await page.getByRole('heading', { name: 'Statistics: Lente 2026' }).waitFor();
  assert.equal(await page.title(), 'Lente 2026 — Statistics — Postbode');
  const figure = async (key) => (await page.locator(`#key-figures [data-stat="${key}"] .stat-value`).innerText()).trim();
  await page.locator('#key-figures').waitFor();
  assert.equal(await figure('recipients'), '3');
  assert.equal(await figure('sent'), '3', 'sent equals the members of the list');
  assert.equal(await figure('failed'), '0');
  for (const id of ['chart-outcome', 'chart-delivery', 'chart-engagement', 'chart-links']) {
    assert.equal(await page.locator(`#${id} svg rect.bar`).count() > 0, true, `the chart ${id} is drawn`);
  }
  assert.equal(await page.locator('#chart-delivery g[data-label="Sent"]').getAttribute('data-value'), '3');
  // Sent over time: the bars of the timeline add up to the messages sent.
  const perBucket = await page.locator('#chart-timeline svg rect.bar').evaluateAll((bars) => bars.map((b) => Number(b.getAttribute('data-value'))));
  assert.equal(perBucket.reduce((n, v) => n + v, 0), 3, 'the timeline adds up to the messages sent');
  assert.match(await page.locator('#chart-links').innerText(), /example\.be\/lente/, 'the tracked link is listed');
  assert.equal(await figure('clicks'), '2', 'both clicks are counted');
  assert.equal(await page.locator('#chart-links g.chart-row').first().getAttribute('data-value'), '2');
  assert.equal(await page.locator('#chart-engagement g[data-label="Clicks"]').getAttribute('data-value'), '2');
  assert.equal(await figure('opens'), '1', 'the open is counted');
  assert.equal(await page.locator('main [style]').count(), 0, 'no inline styles');
  await screenshot(page, 'campaign-stats');
  assertClean(page);
});

test('erasing a recipient in the privacy centre leaves the campaign’s statistics unchanged', async () => {
  const page = owner;
  const before = await api(page, 'GET', `/campaigns/${campaignId}/stats`);
  await page.getByRole('link', { name: 'Privacy centre' }).click();
  await page.getByLabel('Email address').fill('anna@example.be');
  await page.getByRole('button', { name: 'Search' }).click();
  const received = page.locator(`tr[data-campaign="${campaignId}"]`);
  await received.waitFor();
  assert.match(await received.innerText(), /Lente 2026/);
  assert.match(await received.innerText(), /sent/);
  await page.locator('#erase').click();
  const dialog = page.getByRole('dialog', { name: 'Erase this person?' });
  await dialog.getByLabel('Type the address to confirm').fill('anna@example.be');
  await dialog.getByRole('button', { name: 'Erase permanently' }).click();
  await page.locator('#erasure-done').waitFor();

  await page.goto(`/#/campaigns/${campaignId}/stats`);
  await page.locator('#key-figures').waitFor();
  assert.equal((await page.locator('#key-figures [data-stat="sent"] .stat-value').innerText()).trim(), '3');
  assert.equal((await page.locator('#key-figures [data-stat="recipients"] .stat-value').innerText()).trim(), '3');
  const afterStats = await api(page, 'GET', `/campaigns/${campaignId}/stats`);
  assert.deepEqual(afterStats, before, 'every number stays as it was');
  assertClean(page);
});

test('DKIM: a key is generated and its DNS record shown, then deleted', async () => {
  const page = owner;
  await page.goto('/#/sending');
  await page.getByText('No DKIM keys').waitFor();
  await page.getByLabel('Domain').fill('example.be');
  await page.getByLabel('Selector').fill('pb2026');
  await page.getByLabel('Algorithm').selectOption('ed25519-sha256');
  await page.getByRole('button', { name: 'Generate key' }).click();
  const key = page.locator('[data-key="example.be/pb2026"]');
  await key.waitFor();
  assert.equal(await key.locator('.dns-name').innerText(), 'pb2026._domainkey.example.be');
  const value = await key.locator('.dns-value').innerText();
  assert.match(value, /^v=DKIM1;/);
  assert.match(value, /k=ed25519/);
  assert.match(value, /p=[A-Za-z0-9+/=]{40,}/);
  assert.equal(await key.getByRole('button', { name: 'Copy value' }).count(), 1);
  await screenshot(page, 'sending-dkim');

  await key.getByRole('button', { name: 'Delete key' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete key' }).click();
  await page.getByText('No DKIM keys').waitFor();
  assertClean(page);
});

test('a scheduled campaign is paused, resumed and cancelled, each after confirming', async () => {
  const page = owner;
  const c = await api(page, 'POST', '/campaigns', {
    name: 'Herfst 2030', subject: 'Herfst', from: 'nieuws@example.be', list_ids: [listId],
    html: '<p>Dag {{ first_name | default: "klant" }}</p><p><a href="{{ unsubscribe_url }}">Uitschrijven</a></p>',
  });
  await page.goto(`/#/campaigns/${c.id}`);
  await page.getByRole('heading', { name: 'Herfst 2030' }).waitFor();
  await page.getByLabel('At a date and time').check();
  await page.getByLabel('Date and time (your time zone)').fill('2030-10-01T09:30');
  await page.getByRole('button', { name: 'Send…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Schedule this campaign?' });
  assert.match(await dialog.innerText(), /2030/);
  await dialog.getByRole('button', { name: 'Schedule' }).click();
  await page.locator('.send-state .campaign-state[data-state="scheduled"]').waitFor();
  assert.match(await page.locator('.send-state').innerText(), /leaves on .*2030/);
  assert.ok(await page.getByLabel('HTML body').isEnabled(), 'a scheduled campaign can still be changed');

  await page.locator('#pause').click();
  await page.getByRole('dialog', { name: 'Pause sending?' }).getByRole('button', { name: 'Pause' }).click();
  await page.locator('.send-state .campaign-state[data-state="paused"]').waitFor();
  await page.locator('#resume').click();
  await page.locator('.send-state .campaign-state[data-state="scheduled"]').waitFor();

  // Cancelling asks first; "Cancel" in the dialog keeps it.
  await page.locator('#cancel').click();
  let confirmCancel = page.getByRole('dialog', { name: 'Cancel this campaign?' });
  await confirmCancel.getByRole('button', { name: 'Cancel', exact: true }).click();
  assert.equal(await page.locator('.send-state .campaign-state').getAttribute('data-state'), 'scheduled');
  await page.locator('#cancel').click();
  confirmCancel = page.getByRole('dialog', { name: 'Cancel this campaign?' });
  await confirmCancel.getByRole('button', { name: 'Cancel campaign' }).click();
  await page.locator('.send-state .campaign-state[data-state="cancelled"]').waitFor();
  assert.equal(await page.locator('#pause, #resume, #cancel').count(), 0);

  // The list shows each campaign's state.
  await page.goto('/#/campaigns');
  await page.locator('tr[data-campaign="Herfst 2030"] .campaign-state[data-state="cancelled"]').waitFor();
  assert.equal(await page.locator('tr[data-campaign="Lente 2026"] .campaign-state').getAttribute('data-state'), 'sent');
  assert.match(await page.locator('tr[data-campaign="Lente 2026"]').innerText(), /3 \/ 3/);
  await screenshot(page, 'campaigns');
  assertClean(page);
});

test('the campaign, statistics, privacy and import screens fit a 360 px wide phone', async () => {
  const page = await newPage(browser, server, { width: 360, height: 740 });
  await signIn(page, 'owner@example.be');
  await page.getByRole('heading', { name: 'Contacts' }).waitFor();
  const screens = [
    [`#/campaigns/${campaignId}/stats`, '#chart-delivery', 'campaign-stats-360'],
    [`#/campaigns/${campaignId}`, '#preview-frame', 'campaign-360'],
    ['#/campaigns/new', '#campaign-form', null],
    ['#/campaigns', 'tr[data-campaign]', null],
    ['#/privacy', '#verify .verify', 'privacy-360'],
    ['#/imports', '#import-form', null],
    ['#/exports', 'tr[data-list]', null],
    ['#/sending', '#smtp-form', 'sending-360'],
  ];
  for (const [hash, ready, shot] of screens) {
    await page.goto(`/${hash}`);
    await page.locator(ready).first().waitFor();
    const overflow = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
      wide: [...document.querySelectorAll('body *')].filter((el) => !el.closest('.table-wrap') && el.getBoundingClientRect().right > document.documentElement.clientWidth + 1).map((el) => `${el.tagName}.${el.className}`).slice(0, 5),
    }));
    assert.ok(overflow.scroll <= overflow.client, `${hash}: no horizontal scroll (${overflow.scroll} > ${overflow.client}: ${overflow.wide.join(', ')})`);
    if (shot) await screenshot(page, shot);
  }
  assertClean(page);
  await page.context().close();
});

test('an author writes a campaign but cannot send it, and has no privacy, import, export or settings controls', async () => {
  const page = await newPage(browser, server);
  await signIn(page, 'author@example.be');
  await page.getByRole('heading', { name: 'Contacts' }).waitFor();
  const nav = await page.locator('nav.sidenav').innerText();
  assert.match(nav, /Campaigns/);
  assert.doesNotMatch(nav, /Privacy centre|Imports|Exports|Sending|Settings|Users/);
  assert.equal(await page.locator('#import-contacts').count(), 0);

  // A contact's page offers no history or erasure.
  await page.getByLabel('Find by exact address').fill('bert@example.be');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('.search-result').getByRole('link').click();
  await page.locator('#contact-email').waitFor();
  assert.equal(await page.locator('#contact-history').count(), 0);
  assert.equal(await page.locator('#contact-erase').count(), 0);

  // Screens of other roles say so, even when typed in.
  for (const hash of ['#/privacy', '#/imports', '#/exports', '#/sending']) {
    await page.goto(`/${hash}`);
    await page.getByRole('heading', { name: 'Not available for your role' }).waitFor();
  }

  // A campaign written and saved; no way to send it.
  await page.goto('/#/campaigns/new');
  await page.getByLabel('Name', { exact: true }).fill('Zomer 2026');
  await page.getByLabel('Subject').fill('De zomer komt');
  await page.getByLabel('From').fill('nieuws@example.be');
  await page.getByLabel('Nieuwsbrief').check();
  await page.getByLabel('HTML body').fill('<p>Dag {{ first_name | default: "klant" }}</p><p><a href="{{ unsubscribe_url }}">Uitschrijven</a></p>');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await page.getByRole('heading', { name: 'Zomer 2026' }).waitFor();
  await page.locator('#send-not-allowed').waitFor();
  assert.equal(await page.locator('#send-form').count(), 0);
  assert.equal(await page.getByRole('button', { name: /^Send/ }).count(), 1, 'only the test send');
  assert.ok(await page.getByRole('button', { name: 'Send test' }).isVisible());
  // The preview masks addresses for an author, as everywhere.
  const options = await page.getByLabel('Show it as received by').locator('option').allInnerTexts();
  assert.ok(options.some((o) => /^b\*\*\*@\*\*\*\.be$/.test(o)), `masked addresses (${options.join(', ')})`);
  assert.ok(!options.some((o) => o.includes('bert@')));
  await screenshot(page, 'author-campaign');

  // The sent campaign: statistics, but no pause or cancel.
  await page.goto(`/#/campaigns/${campaignId}`);
  await page.locator('.send-state .campaign-state[data-state="sent"]').waitFor();
  assert.equal(await page.locator('#pause, #cancel, #resume').count(), 0);
  assertClean(page);
  await page.context().close();
});
