// Contact lists: create (public or private, with a description), member
// counts, edit, delete with confirmation. Authors only read them.
import { api } from './api.js';
import { can, setTitle } from './session.js';
import { h, clear, card, pageHeader, field, form, table, badge, button, toast, confirm, loading, errorState, empty, dialog, showError, formValues, clearErrors, plural } from './ui.js';

const PUBLIC_HINT = 'A public list is one people subscribe to (newsletter, form). Every address added to it needs a consent statement: how and on what basis it was obtained.';

// Every list of the account (all pages), for selects elsewhere.
export async function allLists() {
  const out = [];
  let cursor = null;
  do {
    const page = await api.get('/lists', { limit: 100, cursor });
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

export async function render(container) {
  setTitle('Lists');
  const manage = can('settings.manage');
  const listBox = h('div', {}, loading());
  let createCard = null;
  if (manage) {
    const f = form({
      id: 'list-form',
      submitLabel: 'Create list',
      fields: [
        field({ label: 'Name', name: 'name', attrs: { maxlength: '100', autocomplete: 'off' } }),
        field({ label: 'Description', name: 'description', type: 'textarea', optional: true, hint: 'What people on this list receive, and how often.', rows: 2 }),
        field({ label: 'Public list', name: 'public', type: 'switch', hint: PUBLIC_HINT }),
      ],
      onSubmit: async (el, values) => {
        const list = await api.post('/lists', { name: values.name.trim(), public: values.public, description: values.description.trim() });
        el.reset();
        toast(`List “${list.name}” created.`);
        await loadList(listBox, manage);
      },
    });
    createCard = card('Create a list', f);
  }
  clear(container).append(
    pageHeader('Lists', 'Groups of contacts you send campaigns to.'),
    createCard,
    card('Lists of this account', listBox));
  await loadList(listBox, manage);
}

async function loadList(box, manage) {
  let items;
  try {
    items = await allLists();
  } catch (err) {
    clear(box).append(errorState(err, () => loadList(box, manage)));
    return;
  }
  if (!items.length) {
    clear(box).append(empty('No lists yet', manage ? 'Create your first list above.' : 'An owner or admin can create them.'));
    return;
  }
  const columns = [
    {
      label: 'Name',
      render: (l) => h('div', {},
        h('a', { href: `#/contacts?list=${encodeURIComponent(l.id)}`, class: 'strong-link', text: l.name }),
        l.description ? h('p', { class: 'muted small', text: l.description }) : null),
    },
    { label: 'Type', render: (l) => (l.public ? badge('Public · consent required', 'public') : badge('Private', 'neutral')) },
    { label: 'Members', class: 'num', render: (l) => h('span', { class: 'member-count', text: String(l.member_count) }) },
  ];
  if (manage) {
    columns.push({
      label: 'Actions', class: 'actions',
      render: (l) => h('div', { class: 'button-row' },
        button('Edit', () => edit(l, box), 'secondary', { class: 'btn btn-secondary btn-small' }),
        button('Delete', () => remove(l, box), 'danger', { class: 'btn btn-danger-quiet btn-small' })),
    });
  }
  clear(box).append(table(columns, items, { caption: 'Lists', rowAttrs: (l) => ({ 'data-list': l.name }) }));
}

async function edit(l, box) {
  const el = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'form-alert', role: 'alert', hidden: true }),
    field({ label: 'Name', name: 'name', value: l.name, attrs: { maxlength: '100' } }),
    field({ label: 'Description', name: 'description', type: 'textarea', value: l.description, rows: 2 }),
    field({ label: 'Public list', name: 'public', type: 'switch', value: l.public, hint: PUBLIC_HINT }));
  const updated = await dialog({
    title: `Edit list “${l.name}”`,
    body: el,
    actions: (close) => [
      button('Cancel', () => close(null)),
      button('Save', async () => {
        clearErrors(el);
        const v = formValues(el);
        try {
          close(await api.patch(`/lists/${encodeURIComponent(l.id)}`, { name: v.name.trim(), description: v.description.trim(), public: v.public }));
        } catch (err) {
          showError(el, err);
        }
      }, 'primary'),
    ],
  });
  if (!updated) return;
  toast(`List “${updated.name}” saved.`);
  await loadList(box, true);
}

async function remove(l, box) {
  const ok = await confirm({
    title: `Delete the list “${l.name}”?`,
    message: `The list and its ${plural(l.member_count, 'membership', 'memberships')} are removed. The contacts themselves and their consent history stay. This cannot be undone.`,
    confirmLabel: 'Delete list',
  });
  if (!ok) return;
  try {
    await api.del(`/lists/${encodeURIComponent(l.id)}`);
    toast(`List “${l.name}” deleted.`);
    await loadList(box, true);
  } catch (err) {
    toast(err.text || err.message, 'error');
  }
}
