// API keys of the signed-in user: create (the token is shown once), revoke.
import { api } from './api.js';
import { setTitle } from './session.js';
import { h, clear, card, pageHeader, field, form, table, button, toast, confirm, loading, errorState, empty, fmtDate, copyButton } from './ui.js';

export async function render(container) {
  setTitle('API keys');
  const listBox = h('div', {}, loading());
  const created = h('div', { id: 'new-key', hidden: true });
  const create = form({
    id: 'apikey-form',
    submitLabel: 'Create key',
    class: 'form-inline',
    fields: [field({ label: 'Name', name: 'name', hint: 'What uses it, e.g. “CRM sync”.', attrs: { maxlength: '100', autocomplete: 'off' } })],
    onSubmit: async (el, values) => {
      const key = await api.post('/api-keys', { name: values.name.trim() });
      el.reset();
      clear(created).append(h('div', { class: 'notice notice-success', role: 'status' },
        h('p', {}, h('strong', { text: `Key “${key.name}” created. ` }), 'Copy the token now: it is shown only once.'),
        h('p', { class: 'token-row' }, h('code', { class: 'secret', id: 'new-key-token', text: key.token }), copyButton(() => key.token, 'Copy token')),
        h('p', { class: 'hint', text: 'Send it as “Authorization: Bearer <token>”. The key acts with your role.' })));
      created.hidden = false;
      await loadList(listBox);
    },
  });
  clear(container).append(
    pageHeader('API keys', 'Keys let scripts and integrations use the REST API as you.'),
    card('Create a key', create, created),
    card('Your keys', listBox));
  await loadList(listBox);
}

async function loadList(box) {
  let page;
  try {
    page = await api.get('/api-keys');
  } catch (err) {
    clear(box).append(errorState(err, () => loadList(box)));
    return;
  }
  if (!page.items.length) {
    clear(box).append(empty('No API keys', 'Create one above when a script needs to use the API.'));
    return;
  }
  clear(box).append(table([
    { label: 'Name', render: (k) => k.name },
    { label: 'Prefix', render: (k) => h('code', { text: `${k.prefix}…` }) },
    { label: 'Created', render: (k) => fmtDate(k.created_at) },
    { label: 'Last used', render: (k) => (k.last_used_at ? fmtDate(k.last_used_at) : 'Never') },
    {
      label: 'Actions', class: 'actions',
      render: (k) => button('Revoke', async () => {
        const ok = await confirm({ title: 'Revoke this key?', message: `Anything using “${k.name}” stops working at once. This cannot be undone.`, confirmLabel: 'Revoke key' });
        if (!ok) return;
        try {
          await api.del(`/api-keys/${encodeURIComponent(k.id)}`);
          toast(`Key “${k.name}” revoked.`);
          await loadList(box);
        } catch (err) {
          toast(err.text || err.message, 'error');
        }
      }, 'danger', { class: 'btn btn-danger-quiet btn-small' }),
    },
  ], page.items, { caption: 'API keys' }));
}
