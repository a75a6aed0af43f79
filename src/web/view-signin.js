// Sign-in: email and password, then the TOTP step (or a recovery code), and
// "forgot password". Shown outside the shell.
import { api, setCsrfToken } from './api.js';
import { setTitle } from './session.js';
import { h, clear, field, form, button } from './ui.js';

function brand(title, subtitle) {
  return h('div', { class: 'auth-brand' },
    h('span', { class: 'brand-mark brand-mark-large', 'aria-hidden': 'true' }, '✉'),
    h('h1', { class: 'auth-title page-title', tabindex: '-1', text: title }),
    subtitle ? h('p', { class: 'auth-subtitle', text: subtitle }) : null);
}

function authCard(...children) {
  return h('div', { class: 'auth-card' }, children);
}

export function render(container, params = {}, ctx) {
  const mode = params.mode || 'password';
  if (mode === 'forgot') return renderForgot(container, ctx);
  if (mode === 'mfa') return renderMfa(container, ctx, false);
  return renderPassword(container, params, ctx);
}

function renderPassword(container, params, ctx) {
  setTitle('Sign in');
  const f = form({
    id: 'signin-form',
    submitLabel: 'Sign in',
    fields: [
      field({ label: 'Email address', name: 'email', type: 'email', attrs: { autocomplete: 'username', autofocus: true } }),
      field({ label: 'Password', name: 'password', type: 'password', attrs: { autocomplete: 'current-password' } }),
    ],
    secondary: h('a', { href: '#/forgot', class: 'link-quiet' }, 'Forgot your password?'),
    onSubmit: async (el, values) => {
      if (!values.email.trim() || !values.password) {
        const e = new Error('Enter your email address and your password.');
        e.text = e.message;
        e.field = !values.email.trim() ? 'email' : 'password';
        throw e;
      }
      const reply = await api.post('/session', { email: values.email.trim(), password: values.password });
      setCsrfToken(reply.csrf_token);
      if (location.hash === '#/signin' || location.hash === '#/forgot') history.replaceState(null, '', '#/contacts');
      await ctx.start();
    },
  });
  clear(container).append(authCard(
    brand('Sign in to Postbode', 'Privacy-first email marketing'),
    params.notice ? h('p', { class: 'notice', role: 'status', text: params.notice }) : null,
    f));
  f.querySelector('input[name=email]').focus();
}

function renderMfa(container, ctx, recovery) {
  setTitle(recovery ? 'Recovery code' : 'Two-factor code');
  const codeField = recovery
    ? field({ label: 'Recovery code', name: 'recovery_code', hint: 'One of the ten codes you saved when you turned on two-factor authentication. Each works once.', attrs: { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' } })
    : field({ label: '6-digit code', name: 'code', hint: 'The code your authenticator app shows for Postbode.', attrs: { inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: '6', class: 'input-code' } });
  const f = form({
    id: 'mfa-form',
    submitLabel: 'Verify',
    fields: [codeField],
    onSubmit: async (el, values) => {
      const body = recovery ? { recovery_code: values.recovery_code.trim() } : { code: values.code.replace(/\s+/g, '') };
      const reply = await api.post('/session/mfa', body);
      setCsrfToken(reply.csrf_token);
      if (location.hash === '#/signin' || location.hash === '#/forgot' || !location.hash) history.replaceState(null, '', '#/contacts');
      await ctx.start();
    },
  });
  const toggle = button(recovery ? 'Use the code of your authenticator app' : 'Use a recovery code instead', () => {
    renderMfa(container, ctx, !recovery);
  }, 'link', { id: 'mfa-toggle' });
  const cancel = button('Sign in as someone else', async () => {
    try { await api.del('/session'); } catch { /* nothing to end */ }
    setCsrfToken(null);
    history.replaceState(null, '', '#/signin');
    await ctx.start();
  }, 'link');
  clear(container).append(authCard(
    brand('Two-factor authentication', recovery ? 'Enter one of your recovery codes.' : 'Enter the code from your authenticator app.'),
    f,
    h('div', { class: 'auth-links' }, toggle, cancel)));
  f.querySelector('input').focus();
}

function renderForgot(container, ctx) {
  setTitle('Forgot password');
  const done = h('div', { class: 'notice notice-success', role: 'status', hidden: true },
    h('p', { text: 'If an account uses this address, we have sent it a link to choose a new password. The link works once, for 30 minutes.' }),
    h('p', { text: 'No mail? Check your spam folder, or ask again in a few minutes.' }),
    h('p', {}, h('a', { href: '#/signin' }, 'Back to sign in')));
  const f = form({
    id: 'forgot-form',
    submitLabel: 'Send the link',
    fields: [field({ label: 'Email address', name: 'email', type: 'email', attrs: { autocomplete: 'username' } })],
    secondary: h('a', { href: '#/signin', class: 'link-quiet' }, 'Back to sign in'),
    onSubmit: async (el, values) => {
      if (!values.email.trim()) {
        const e = new Error('Enter the email address you sign in with.');
        e.text = e.message;
        e.field = 'email';
        throw e;
      }
      await api.post('/password/forgot', { email: values.email.trim() });
      el.hidden = true;
      done.hidden = false;
    },
  });
  clear(container).append(authCard(
    brand('Forgot your password?', 'We will email you a link to choose a new one.'),
    f, done));
  f.querySelector('input').focus();
  void ctx;
}
