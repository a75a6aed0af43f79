// Users and roles: list, invite (the server mails a set-password link),
// change a role, remove, each destructive step confirmed.
import { api } from './api.js';
import { state, setTitle } from './session.js';
import { h, clear, card, pageHeader, field, form, table, badge, button, toast, confirm, loading, errorState, empty, fmtDay, dialog, showError } from './ui.js';

function roleOptions() {
  const roles = [
    { value: 'owner', label: 'Owner — everything, including users, settings and the audit log' },
    { value: 'admin', label: 'Admin — everything but the audit log and owners' },
  ];
  if (state.session.account.plan === 'enterprise') {
    roles.push({ value: 'author', label: 'Author — writes campaigns; sees addresses masked' });
  }
  return roles;
}

export async function render(container) {
  setTitle('Users');
  const listBox = h('div', {}, loading());
  const invite = form({
    id: 'invite-form',
    submitLabel: 'Send invitation',
    class: 'form-inline',
    fields: [
      field({ label: 'Email address', name: 'email', type: 'email', attrs: { autocomplete: 'off' } }),
      field({ label: 'Role', name: 'role', type: 'select', options: roleOptions().map((r) => ({ value: r.value, label: r.label.split(' — ')[0] })), value: 'admin' }),
    ],
    onSubmit: async (el, values) => {
      const user = await api.post('/users', { email: values.email.trim(), role: values.role });
      el.reset();
      toast(`Invitation sent to ${user.email}.`);
      await loadList(listBox);
    },
  });
  clear(container).append(
    pageHeader('Users', 'Who can sign in to this account, and what each may do.'),
    card('Invite a user',
      h('p', { class: 'card-intro', text: 'The person receives an email with a link to choose a password (valid for a limited time).' }),
      invite,
      h('ul', { class: 'hint-list' }, roleOptions().map((r) => h('li', { text: r.label })))),
    card('Users of this account', listBox));
  await loadList(listBox);
}

async function loadList(box) {
  clear(box).append(loading());
  const all = [];
  try {
    let cursor = null;
    do {
      const page = await api.get('/users', { limit: 100, cursor });
      all.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
  } catch (err) {
    clear(box).append(errorState(err, () => loadList(box)));
    return;
  }
  if (!all.length) {
    clear(box).append(empty('No users yet', 'Invite someone above.'));
    return;
  }
  const me = state.session.user.id;
  clear(box).append(table([
    { label: 'Email', render: (u) => h('span', {}, u.email, u.id === me ? h('span', { class: 'muted', text: ' (you)' }) : null) },
    { label: 'Role', render: (u) => badge(u.role, 'role') },
    { label: '2FA', render: (u) => (u.totp_enabled ? badge('On', 'success') : badge('Off', 'neutral')) },
    { label: 'Added', render: (u) => fmtDay(u.created_at) },
    {
      label: 'Actions', class: 'actions',
      render: (u) => h('div', { class: 'button-row' },
        button('Change role', () => changeRole(u, box), 'secondary', { class: 'btn btn-secondary btn-small' }),
        u.id === me ? null : button('Remove', () => remove(u, box), 'danger', { class: 'btn btn-danger-quiet btn-small' })),
    },
  ], all, { caption: 'Users', rowAttrs: (u) => ({ 'data-user': u.email }) }));
}

async function changeRole(user, box) {
  const select = field({ label: `New role for ${user.email}`, name: 'role', type: 'select', options: roleOptions().map((r) => ({ value: r.value, label: r.label })), value: user.role });
  const f = h('form', { class: 'form', novalidate: true }, h('div', { class: 'form-alert', role: 'alert', hidden: true }), select);
  const changed = await dialog({
    title: 'Change role',
    body: f,
    actions: (close) => [
      button('Cancel', () => close(null)),
      button('Change role', async () => {
        try {
          const updated = await api.patch(`/users/${encodeURIComponent(user.id)}`, { role: f.querySelector('select').value });
          close(updated);
        } catch (err) {
          showError(f, err);
        }
      }, 'primary'),
    ],
  });
  if (changed) {
    toast(`${changed.email} is now ${changed.role}.`);
    await loadList(box);
  }
}

async function remove(user, box) {
  const ok = await confirm({
    title: 'Remove this user?',
    message: `${user.email} will no longer be able to sign in. Their actions stay in the audit log.`,
    confirmLabel: 'Remove user',
  });
  if (!ok) return;
  try {
    await api.del(`/users/${encodeURIComponent(user.id)}`);
    toast(`${user.email} was removed.`);
    await loadList(box);
  } catch (err) {
    toast(err.text || err.message, 'error');
  }
}
