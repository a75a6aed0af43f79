// Two-factor enrolment: the QR code and the secret, confirmation with a code,
// then the ten recovery codes shown once. Forced (outside the shell) when the
// account requires 2FA of a user who has none; also started from the profile.
import { api, setCsrfToken } from './api.js';
import { state, setTitle } from './session.js';
import { h, clear, field, form, button, copyButton, toast } from './ui.js';

function qrNode(svgText) {
  const doc = new DOMParser().parseFromString(svgText, 'image/svg+xml');
  const svg = doc.documentElement;
  if (!svg || svg.nodeName !== 'svg') return h('p', { class: 'hint', text: 'The QR code could not be shown: type the key below instead.' });
  const node = document.importNode(svg, true);
  node.setAttribute('class', 'qr');
  node.setAttribute('focusable', 'false');
  return node;
}

function groupSecret(secret) {
  return secret.replace(/(.{4})/g, '$1 ').trim();
}

// Runs the enrolment inside `container`. onDone() after the codes are saved;
// onCancel (optional) shows a cancel button on the first steps.
export async function enrolmentFlow(container, { onDone, onCancel }) {
  let enrolment;
  try {
    enrolment = await api.post('/me/totp');
  } catch (err) {
    clear(container).append(h('p', { class: 'form-alert', role: 'alert', text: err.text || err.message }),
      onCancel ? button('Back', onCancel) : null);
    return;
  }
  const f = form({
    id: 'totp-confirm-form',
    submitLabel: 'Turn on two-factor authentication',
    fields: [field({ label: 'Code from the app', name: 'code', hint: 'The 6 digits the app shows now for Postbode.', attrs: { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6', class: 'input-code' } })],
    secondary: onCancel ? button('Cancel', onCancel) : null,
    onSubmit: async (el, values) => {
      const reply = await api.post('/me/totp/confirm', { code: values.code.replace(/\s+/g, '') });
      showCodes(container, reply.recovery_codes || [], onDone);
    },
  });
  clear(container).append(
    h('ol', { class: 'steps' },
      h('li', {}, h('strong', { text: 'Scan the QR code ' }), 'with an authenticator app (for example FreeOTP, Aegis, Google Authenticator or 1Password).'),
      h('li', {}, h('strong', { text: 'Enter the code ' }), 'the app shows, to check that it works.')),
    h('div', { class: 'enrol-grid' },
      h('figure', { class: 'qr-box' }, qrNode(enrolment.qr_svg), h('figcaption', { class: 'hint', text: 'QR code for your authenticator app' })),
      h('div', { class: 'enrol-secret' },
        h('p', { class: 'hint', text: 'Cannot scan? Type this key into the app (time-based, 6 digits, every 30 seconds):' }),
        h('p', {}, h('code', { class: 'secret', id: 'totp-secret', 'data-secret': enrolment.secret, text: groupSecret(enrolment.secret) })),
        copyButton(() => enrolment.secret, 'Copy key'),
        f)));
  f.querySelector('input').focus();
}

function showCodes(container, codes, onDone) {
  const text = `Postbode recovery codes for ${state.session ? state.session.user.email : 'your login'}\n` +
    'Each code works once, when you cannot use your authenticator app.\n\n' + codes.join('\n') + '\n';
  const saved = h('input', { type: 'checkbox', id: 'codes-saved' });
  const done = button('Continue', onDone, 'primary', { disabled: true, id: 'codes-continue' });
  saved.addEventListener('change', () => { done.disabled = !saved.checked; });
  clear(container).append(
    h('div', { class: 'notice notice-success', role: 'status' },
      h('p', {}, h('strong', { text: 'Two-factor authentication is on.' }))),
    h('h2', { class: 'section-title', text: 'Save your recovery codes' }),
    h('p', { text: 'If you lose your phone, each of these codes lets you sign in once. They are shown only now: keep them somewhere safe, such as a password manager.' }),
    h('ol', { class: 'recovery-codes', id: 'recovery-codes' }, codes.map((c) => h('li', {}, h('code', { text: c })))),
    h('div', { class: 'button-row' },
      copyButton(() => codes.join('\n'), 'Copy codes'),
      h('a', { class: 'btn btn-secondary btn-small', download: 'postbode-recovery-codes.txt', href: `data:text/plain;charset=utf-8,${encodeURIComponent(text)}` }, 'Download as text')),
    h('div', { class: 'form-field form-check' }, h('div', { class: 'check-row' }, saved, h('label', { for: 'codes-saved', text: 'I have saved my recovery codes' }))),
    h('div', { class: 'form-actions' }, done));
}

// The forced enrolment screen (the session says must_enrol).
export function render(container, params, ctx) {
  setTitle('Set up two-factor authentication');
  const body = h('div', { class: 'enrol-body' });
  const signOut = button('Sign out', async () => {
    try { await api.del('/session'); } catch { /* signed out anyway */ }
    setCsrfToken(null);
    history.replaceState(null, '', '#/signin');
    ctx.start();
  }, 'link');
  clear(container).append(h('div', { class: 'auth-card auth-card-wide' },
    h('div', { class: 'auth-brand' },
      h('span', { class: 'brand-mark brand-mark-large', 'aria-hidden': 'true' }, '✉'),
      h('h1', { class: 'auth-title page-title', tabindex: '-1', text: 'Set up two-factor authentication' }),
      h('p', { class: 'auth-subtitle', text: 'Your account requires it of every user. It takes a minute.' })),
    body,
    h('p', { class: 'auth-links' }, signOut)));
  const start = button('Start', () => {
    enrolmentFlow(body, {
      onDone: () => {
        toast('Two-factor authentication is on.');
        history.replaceState(null, '', '#/contacts');
        ctx.start();
      },
    });
  }, 'primary', { id: 'enrol-start' });
  body.append(
    h('p', { text: 'With two-factor authentication, signing in needs your password and a code from an app on your phone, so that a stolen password alone opens nothing.' }),
    h('div', { class: 'form-actions' }, start));
  start.focus();
}
