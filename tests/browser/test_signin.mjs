// Signing in: password, turning TOTP on from the profile, the TOTP step, a
// recovery code, forced enrolment when the account requires 2FA, wrong
// passwords and "forgot password".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, assertClean, screenshot, authenticator, signIn, signOut, PASSWORD } from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ name: 'Brasserie Ça Va' });
  browser = await launchBrowser();
});

after(async () => {
  try {
    await browser?.close();
  } finally {
    await server?.stop();
  }
});

test('a wrong password is refused with a clear message, and forgot password always answers the same', async () => {
  const email = server.user('wrong@example.be');
  const page = await newPage(browser, server);
  await page.goto('/');
  await page.getByRole('heading', { name: 'Sign in to Postbode' }).waitFor();
  assert.match(await page.title(), /Sign in/);
  await screenshot(page, 'signin');

  // By keyboard alone: the address field has the focus, visibly; Tab, then Enter submits.
  assert.equal(await page.evaluate(() => document.activeElement.name), 'email');
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), 'none', 'focus is visible');
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'password');
  await page.keyboard.type('not the password at all');
  await page.keyboard.press('Enter');
  const alert = page.locator('#signin-form .form-alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /email or the password is wrong/i);

  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.getByRole('heading', { name: 'Forgot your password?' }).waitFor();
  assert.match(await page.title(), /Forgot password/);
  await page.getByLabel('Email address').fill('nobody@example.be');
  await page.getByRole('button', { name: 'Send the link' }).click();
  const done = page.getByText('If an account uses this address');
  await done.waitFor();
  assert.ok(await done.isVisible());
  assertClean(page);
  await page.context().close();
});

test('sign in with a password, turn TOTP on from the profile, sign out, sign in with a code and with a recovery code, turn it off', async () => {
  const email = server.user('owner@example.be');
  const page = await newPage(browser, server);
  await signIn(page, email);

  // The shell: the account's name, the user and the role.
  await page.getByRole('heading', { name: 'Contacts' }).waitFor();
  const topbar = page.locator('header.topbar');
  assert.match(await topbar.innerText(), /Brasserie Ça Va/);
  assert.match(await topbar.innerText(), /owner@example\.be/);
  assert.match(await page.title(), /^Contacts — Postbode$/);

  // Profile: 2FA is off; turn it on with the QR code and a computed code.
  await page.locator('.user-link').click();
  await page.getByRole('heading', { name: 'Your profile' }).waitFor();
  assert.match(await page.locator('#twofa-body').innerText(), /Off/);
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  const qr = page.locator('svg.qr');
  await qr.waitFor();
  assert.ok(await qr.locator('path').count() > 0, 'the QR code is drawn');
  const secret = await page.locator('#totp-secret').getAttribute('data-secret');
  assert.match(secret, /^[A-Z2-7]+=*$/);
  await screenshot(page, 'totp-enrol');
  const app = authenticator(secret);

  // A wrong code first: the error shows under the field.
  await page.getByLabel('Code from the app').fill('000000');
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  const codeError = page.locator('#totp-confirm-form .field-error:not([hidden])');
  await codeError.waitFor();
  assert.match(await codeError.innerText(), /not accepted|wrong/i);

  await page.getByLabel('Code from the app').fill(await app.code());
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  const codes = page.locator('#recovery-codes li');
  await codes.first().waitFor();
  assert.equal(await codes.count(), 10, 'ten recovery codes are shown');
  const recovery = (await codes.allInnerTexts()).map((c) => c.trim());
  await screenshot(page, 'recovery-codes');
  const cont = page.locator('#codes-continue');
  assert.ok(await cont.isDisabled(), 'continue waits for "I have saved them"');
  await page.getByLabel('I have saved my recovery codes').check();
  await cont.click();
  await page.locator('#twofa-body').getByText('On', { exact: true }).waitFor();

  // Sign out, then in again: the TOTP step.
  await signOut(page);
  assert.match(await page.locator('.notice').innerText(), /signed out/i);
  await signIn(page, email);
  await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
  assert.match(await page.title(), /Two-factor code/);
  await screenshot(page, 'signin-totp');
  await page.getByLabel('6-digit code').fill(await app.code());
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Contacts' }).waitFor();

  // Once more, with a recovery code instead.
  await signOut(page);
  await signIn(page, email);
  await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
  await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
  await page.getByLabel('Recovery code').fill('not-a-code');
  await page.getByRole('button', { name: 'Verify' }).click();
  const recError = page.locator('#mfa-form .field-error:not([hidden])');
  await recError.waitFor();
  assert.match(await recError.innerText(), /not accepted/i);
  await page.getByLabel('Recovery code').fill(recovery[0]);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Contacts' }).waitFor();
  assert.match(await page.locator('header.topbar').innerText(), /owner@example\.be/);

  // Turning it off from the profile takes a code and a confirmation.
  await page.locator('.user-link').click();
  await page.getByText('Turn off two-factor authentication').click();
  await page.getByLabel('Code from your authenticator app').fill(await app.code());
  await page.getByRole('button', { name: 'Turn off' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Turn off' }).click();
  await page.locator('#twofa-body').getByText('Off', { exact: true }).waitFor();
  assertClean(page);
  await page.context().close();
});

test('an account that requires 2FA makes a user without it enrol before anything else', async () => {
  const owner = server.user('boss@example.be');
  const page = await newPage(browser, server);
  await signIn(page, owner);
  await page.getByRole('heading', { name: 'Contacts' }).waitFor();

  // The owner turns the requirement on in the account settings.
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Account settings' }).waitFor();
  await screenshot(page, 'settings');
  await page.getByLabel('Require two-factor authentication of every user').check();
  await page.locator('#settings-security').getByRole('button', { name: 'Save' }).click();
  await page.getByText('Two-factor setting saved.').waitFor();

  // The owner has no 2FA either: the next screen is the forced enrolment.
  await page.reload();
  await page.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor();
  assert.equal(await page.locator('nav.sidenav').count(), 0, 'no navigation before enrolment');
  await page.getByRole('button', { name: 'Start' }).click();
  const secret = await page.locator('#totp-secret').getAttribute('data-secret');
  await screenshot(page, 'forced-enrolment');
  await page.getByLabel('Code from the app').fill(await authenticator(secret).code());
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  await page.locator('#recovery-codes li').first().waitFor();
  await page.getByLabel('I have saved my recovery codes').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Contacts' }).waitFor();
  assert.ok(await page.locator('nav.sidenav').isVisible());

  // A second user signs in with a password only: enrolment first, too.
  const admin = server.user('admin@example.be', 'admin');
  const other = await newPage(browser, server);
  await signIn(other, admin, PASSWORD);
  await other.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor();
  assert.match(await other.title(), /Set up two-factor authentication/);
  assertClean(page);
  assertClean(other);
  await page.context().close();
  await other.context().close();
});

test('repeated wrong passwords are throttled, and the sign-in form says how long to wait', async () => {
  const email = server.user('throttled@example.be');
  const page = await newPage(browser, server);
  await page.goto('/#/signin');
  const alert = page.locator('#signin-form .form-alert');
  let text = '';
  for (let i = 0; i < 8 && !/Too many attempts/.test(text); i++) {
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(`wrong password ${i}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForFunction((n) => {
      const box = document.querySelector('#signin-form .form-alert');
      return box && !box.hidden && box.dataset.n !== String(n) && (box.dataset.n = String(n));
    }, i);
    text = await alert.innerText();
  }
  assert.match(text, /Too many attempts\. Wait \d+ seconds, then try again\./);
  await screenshot(page, 'signin-throttled');
  assertClean(page);
  await page.context().close();
});
