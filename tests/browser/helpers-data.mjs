// What the part-2 browser tests add to helpers.mjs: REST calls made from a
// signed-in page (its cookie and CSRF token, as the UI itself does) to set up
// data quickly, and Postfix's smtp-sink as the SMTP relay of a test, started
// on a free port and stopped by its PID.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

// method, path (under /api/v1), JSON body or {raw: base64, type}; returns {status, body}.
export async function apiCall(page, method, apiPath, body) {
  return page.evaluate(async ({ method: m, apiPath: p, body: b }) => {
    const session = await fetch('/api/v1/session').then((r) => r.json());
    const headers = { 'X-CSRF-Token': session.csrf_token };
    let payload;
    if (b && b.raw) {
      payload = Uint8Array.from(atob(b.raw), (c) => c.charCodeAt(0));
      headers['Content-Type'] = b.type;
    } else if (b !== undefined) {
      payload = JSON.stringify(b);
      headers['Content-Type'] = 'application/json';
    }
    const r = await fetch(`/api/v1${p}`, { method: m, headers, body: payload });
    const text = await r.text();
    let parsed = null;
    try { parsed = text ? JSON.parse(text) : null; } catch { parsed = text; }
    return { status: r.status, body: parsed };
  }, { method, apiPath, body });
}

// Like apiCall, but fails unless the answer is 2xx; returns the body.
export async function api(page, method, apiPath, body) {
  const r = await apiCall(page, method, apiPath, body);
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${apiPath}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
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

function listening(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port }, () => { sock.destroy(); resolve(true); });
    sock.on('error', () => resolve(false));
  });
}

// Postfix's smtp-sink (never the postfix daemon), each message dumped to a file
// of its own under dir/mail. Returns {port, messages(), stop()}.
export async function startSmtpSink() {
  const bin = '/usr/sbin/smtp-sink';
  const dir = mkdtempSync(path.join(tmpdir(), 'postbode-sink-'));
  const mail = path.join(dir, 'mail');
  mkdirSync(mail);
  const user = [];
  if (process.getuid && process.getuid() === 0) {
    // smtp-sink drops root privileges: let "nobody" write the dump directory.
    user.push('-u', 'nobody');
    chmodSync(dir, 0o711);
    chmodSync(mail, 0o777);
  }
  const port = await freePort();
  const child = spawn(bin, [...user, '-c', '-d', `${mail}/%M%d%H%M%S.`, `127.0.0.1:${port}`, '64'], { stdio: ['ignore', 'pipe', 'pipe'] });
  process.once('exit', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let log = '';
  child.stdout.on('data', (c) => { log += c; });
  child.stderr.on('data', (c) => { log += c; });
  const started = Date.now();
  while (!(await listening(port))) {
    if (child.exitCode !== null) throw new Error(`smtp-sink exited: ${log}`);
    if (Date.now() - started > 10000) { child.kill('SIGKILL'); throw new Error(`smtp-sink did not listen: ${log}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    // The messages received so far, as text.
    messages() {
      return readdirSync(mail).sort().map((f) => readFileSync(path.join(mail, f), 'utf8'));
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Waits until fn() is truthy (polling), or fails with `what`.
export async function eventually(fn, what, timeout = 30000) {
  const started = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - started > timeout) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
