// Account settings: 2FA for everyone, tracking, storage limitation. Each card
// saves on its own (PATCH /account with its keys only), so that one refused
// setting never blocks the others.
import { api } from './api.js';
import { state, setTitle } from './session.js';
import { h, clear, card, pageHeader, field, form, toast, loading, errorState, nextId } from './ui.js';

const TRACKING = [
  { value: 'off', label: 'Off', help: 'No open pixel and no click redirects. You see only what was sent, bounced and unsubscribed.' },
  { value: 'aggregate', label: 'Aggregate (recommended)', help: 'Opens and clicks are counted per campaign and link, never tied to a person.' },
  { value: 'individual', label: 'Individual', help: 'Records who opened and clicked. Needs a lawful basis and a mention in your privacy notice.' },
];

function radioGroup(name, legend, options, value) {
  const errorId = nextId('err');
  return h('fieldset', { class: 'form-field radio-group', 'data-field': name, id: `${errorId}-set`, 'aria-describedby': errorId },
    h('legend', { text: legend }),
    options.map((o) => {
      const id = nextId(name);
      return h('div', { class: 'radio-row' },
        h('input', { type: 'radio', name, id, value: o.value, checked: o.value === value, 'aria-describedby': `${id}-help` }),
        h('div', {},
          h('label', { for: id, text: o.label }),
          h('p', { class: 'hint', id: `${id}-help`, text: o.help })));
    }),
    h('p', { class: 'field-error', id: `${errorId}-set-error`, role: 'alert', hidden: true }));
}

export async function render(container) {
  setTitle('Account settings');
  clear(container).append(pageHeader('Account settings', 'Security and privacy rules that apply to everyone in this account.'), loading());
  let account;
  try {
    account = await api.get('/account');
  } catch (err) {
    container.lastChild.replaceWith(errorState(err, () => render(container)));
    return;
  }
  state.account = account;

  const security = form({
    id: 'settings-security',
    fields: [field({
      label: 'Require two-factor authentication of every user',
      name: 'require_2fa', type: 'switch', value: account.require_2fa,
      hint: 'Users without it are asked to set it up at their next sign-in, before they can do anything else.',
    })],
    onSubmit: async (el, values) => {
      state.account = await api.patch('/account', { require_2fa: values.require_2fa });
      toast('Two-factor setting saved.');
    },
  });

  const tracking = form({
    id: 'settings-tracking',
    fields: [radioGroup('tracking', 'Open and click tracking in campaigns', TRACKING, account.tracking)],
    onSubmit: async (el, values) => {
      state.account = await api.patch('/account', { tracking: values.tracking });
      toast('Tracking setting saved.');
    },
  });

  const days = (name, label, hint) => field({
    label, name, type: 'number', hint,
    value: String(account[name] ?? 0),
    attrs: { min: '0', max: '3650', step: '1', inputmode: 'numeric', class: 'input-short' },
  });
  const storage = form({
    id: 'settings-storage',
    fields: [
      days('erase_unlisted_after_days', 'Erase contacts on no list after (days)', 'A contact who has been on no list for this many days is erased (anonymised, statistics kept). 0 turns it off.'),
      days('erase_unconfirmed_after_days', 'Erase unconfirmed subscriptions after (days)', 'A double opt-in subscription never confirmed is erased after this many days. 0 turns it off.'),
    ],
    onSubmit: async (el, values) => {
      const body = {};
      for (const key of ['erase_unlisted_after_days', 'erase_unconfirmed_after_days']) {
        const n = Number(values[key]);
        if (!Number.isInteger(n) || n < 0) {
          const e = new Error('Enter a whole number of days (0 turns it off).');
          e.text = e.message;
          e.field = key;
          throw e;
        }
        body[key] = n;
      }
      state.account = await api.patch('/account', body);
      toast('Storage limitation saved.');
    },
  });

  container.lastChild.replaceWith(h('div', { class: 'stack' },
    card('Security', security),
    card('Tracking', h('p', { class: 'card-intro', text: 'How much Postbode records when people open your campaigns and click their links.' }), tracking),
    card('Storage limitation',
      h('p', { class: 'card-intro', text: 'The GDPR asks you to keep personal data no longer than needed. Postbode can erase contacts you no longer use, automatically.' }),
      storage)));
}
