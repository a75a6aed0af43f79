// What the browser tests share: a real `postbode serve` of their own (temp
// data dir, free port, account and users made with the CLI), Debian's
// Chromium driven by playwright-core, a console watch that fails a test on
// any CSP violation or script error, RFC 6238 codes, and screenshots under
// test-output/browser/.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
export const shots = path.join(root, 'test-output', 'browser');
export const CHROMIUM = process.env.PB_TEST_CHROMIUM || '/usr/bin/chromium';
export const PASSWORD = 'correct horse battery staple';

// The binary the tests run: $PB_TEST_BIN (run-tests sets the sanitizer build), else a built one.
export function binary() {
  const candidates = [process.env.PB_TEST_BIN, path.join(root, 'build/asan/postbode'), path.join(root, 'build/release/postbode')];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new Error('no postbode binary: run make (or set PB_TEST_BIN)');
  return found;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Starts a server with one account ({plan}) and an owner; returns its handle.
export async function startServer({ name = 'Brasserie Test', plan = 'enterprise' } = {}) {
  const bin = binary();
  const dir = mkdtempSync(path.join(tmpdir(), 'postbode-browser-'));
  const data = path.join(dir, 'data');
  const cli = (args, input) => execFileSync(bin, [...args, '--data-dir', data], {
    input: input ?? '', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], env: process.env,
  });
  cli(['init']);
  const accountId = JSON.parse(cli(['account', 'create', name, '--plan', plan, '--json'])).id;
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const logPath = path.join(dir, 'serve.log');
  const env = { ...process.env, POSTBODE_SERVER_PUBLIC_URL: url };
  const child = spawn(bin, ['serve', '--data-dir', data, '--listen', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  // Never outlive the test process, whatever happens to it.
  process.once('exit', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let log = '';
  const collect = (chunk) => { log += chunk.toString(); };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  await new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (log.includes('is serving')) { clearInterval(timer); resolve(); }
      else if (child.exitCode !== null) { clearInterval(timer); reject(new Error(`postbode serve exited (${child.exitCode}):\n${log}`)); }
      else if (Date.now() - started > 30000) { clearInterval(timer); reject(new Error(`postbode serve did not start:\n${log}`)); }
    }, 50);
  });
  const server = {
    url, data, dir, accountId, port,
    cli,
    get log() { return log; },
    // Creates a user with a password; returns its email.
    user(email, role = 'owner', account = accountId) {
      cli(['user', 'create', '--account', account, '--role', role, '--password-stdin', email], `${PASSWORD}\n`);
      return email;
    },
    account(accountName, accountPlan = 'enterprise') {
      return JSON.parse(cli(['account', 'create', accountName, '--plan', accountPlan, '--json'])).id;
    },
    // Stops the server by its PID (SIGTERM, a clean stop); fails when it did not
    // stop cleanly or a sanitizer reported anything. The log stays in test-output.
    async stop() {
      let killed = false;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timeout = new Promise((resolve) => setTimeout(resolve, 15000, 'timeout'));
        if (await Promise.race([exited, timeout]) === 'timeout') {
          killed = true;
          child.kill('SIGKILL');
          await exited;
        }
      }
      mkdirSync(shots, { recursive: true });
      const logFile = path.join(shots, `server-${name.replace(/[^A-Za-z]+/g, '-')}-${port}.log`);
      writeFileSync(logFile, log);
      rmSync(dir, { recursive: true, force: true });
      assert.ok(!/Sanitizer|runtime error:/.test(log), `the server reported a sanitizer error (${logFile})`);
      assert.ok(!killed && child.exitCode === 0, `the server did not stop cleanly: exit ${child.exitCode}, signal ${child.signalCode} (${logFile})`);
    },
  };
  return server;
}

// Debian's Chromium, headless, as root: no sandbox, and none of its calls home.
export async function launchBrowser() {
  mkdirSync(shots, { recursive: true });
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/deps --test installs chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

// A new browser context (its own cookies) and page on the server, watched for
// CSP violations and script errors; page.problems lists them.
export async function newPage(browser, server, { width = 1280, height = 860 } = {}) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, baseURL: server.url, viewport: { width, height } });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (msg) => {
    const text = msg.text();
    if (/Content[- ]Security[- ]Policy|Refused to/i.test(text)) page.problems.push(`CSP: ${text}`);
    else if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of (4\d\d)/.test(text)) {
      page.problems.push(`console error: ${text}`);
    }
  });
  page.on('pageerror', (err) => page.problems.push(`page error: ${err.message}`));
  page.setDefaultTimeout(15000);
  return page;
}

// Fails when the page reported a CSP violation or a script error.
export function assertClean(page) {
  assert.deepEqual(page.problems, [], `the page reported problems:\n${page.problems.join('\n')}`);
}

export async function screenshot(page, name) {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

// ---- RFC 6238 ----

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function hotp(key, counter) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(msg).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(bin % 1e6).padStart(6, '0');
}

// An authenticator for one secret: each code() is for a later 30-second step
// than the one before (the server refuses a replayed step and accepts one
// step of drift), waiting for the clock when it must.
export function authenticator(secretBase32) {
  const key = base32Decode(secretBase32);
  let last = -1;
  return {
    async code() {
      for (;;) {
        const now = Math.floor(Date.now() / 1000 / 30);
        const step = Math.max(now - 0, last + 1);
        if (step <= now + 1) {
          last = step;
          return hotp(key, step);
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    },
  };
}

// ---- common flows ----

export async function signIn(page, email, password = PASSWORD) {
  await page.goto('/#/signin');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function signOut(page) {
  await page.locator('#sign-out').click();
  await page.getByRole('heading', { name: 'Sign in to Postbode' }).waitFor();
}
