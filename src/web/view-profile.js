// The signed-in user's own profile: two-factor authentication on and off,
// and a password change by mail (the API changes passwords only by link).
import { api } from './api.js';
import { state, setTitle } from './session.js';
import { h, clear, card, pageHeader, definitionList, badge, button, field, form, toast, confirm } from './ui.js';
import { enrolmentFlow } from './view-enrol.js';

export function render(container, params, ctx) {
  setTitle('Your profile');
  const s = state.session;
  const twofa = h('div', { id: 'twofa-body' });
  clear(container).append(
    pageHeader('Your profile', 'How you sign in to Postbode.'),
    card('Account',
      definitionList([
        ['Email', s.user.email],
        ['Role', badge(s.user.role, 'role')],
        ['Account', state.account ? state.account.name : s.account.id],
        ['Plan', s.account.plan],
      ])),
    card('Two-factor authentication', twofa),
    card('Password',
      h('p', { text: 'For your safety, Postbode changes a password only through a link sent to your email address.' }),
      button('Email me a link to change it', async (e) => {
        e.target.disabled = true;
        try {
          await api.post('/password/forgot', { email: s.user.email });
          toast('Sent: check your mailbox for the link (valid 30 minutes).');
        } catch (err) {
          toast(err.text || err.message, 'error');
        } finally {
          e.target.disabled = false;
        }
      })));
  renderTwofa(twofa, ctx);
}

function renderTwofa(box, ctx) {
  const on = state.session.user.totp_enabled;
  const required = state.account && state.account.require_2fa;
  if (!on) {
    clear(box).append(
      h('p', {}, badge('Off', 'warning'), ' Signing in needs only your password.'),
      h('p', { class: 'hint', text: 'Turn it on to require a code from an authenticator app as well.' }),
      button('Turn on two-factor authentication', () => {
        enrolmentFlow(box, {
          onDone: async () => { toast('Two-factor authentication is on.'); await ctx.refreshShell(); },
          onCancel: () => renderTwofa(box, ctx),
        });
      }, 'primary', { id: 'totp-enable' }));
    return;
  }
  const disableForm = form({
    id: 'totp-disable-form',
    submitLabel: 'Turn off',
    fields: [field({ label: 'Code from your authenticator app', name: 'code', attrs: { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6', class: 'input-code' } })],
    onSubmit: async (el, values) => {
      const ok = await confirm({ title: 'Turn off two-factor authentication?', message: 'Signing in will need only your password again. Your recovery codes stop working.', confirmLabel: 'Turn off' });
      if (!ok) return;
      await api.del('/me/totp', { code: values.code.replace(/\s+/g, '') });
      toast('Two-factor authentication is off.');
      await ctx.refreshShell();
    },
  });
  clear(box).append(
    h('p', {}, badge('On', 'success'), ' Signing in needs your password and a code from your authenticator app.'),
    required
      ? h('p', { class: 'hint', text: 'Your account requires two-factor authentication: if you turn it off, you will be asked to set it up again.' })
      : null,
    h('details', { class: 'disclosure' },
      h('summary', {}, 'Turn off two-factor authentication'),
      disableForm));
}
