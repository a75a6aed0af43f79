// Contacts: a paginated table ("Load more"), filtered by list, and the exact
// search by address. Authors see addresses masked and no add controls.
import { api } from './api.js';
import { can, setTitle } from './session.js';
import { h, clear, card, pageHeader, table, badge, button, linkButton, loading, errorState, empty, fmtDay, field, form } from './ui.js';
import { allLists } from './view-lists.js';

const PAGE = 50;

export function statusBadge(status) {
  const kinds = { subscribed: 'success', active: 'success', unsubscribed: 'neutral', pending: 'warning', unconfirmed: 'warning', bounced: 'danger', erased: 'neutral' };
  return badge(status, kinds[status] || 'neutral');
}

export async function render(container, params, ctx) {
  setTitle('Contacts');
  const reveal = can('contacts.view_addresses');
  const listId = params.query.get('list') || '';
  const actions = [];
  if (reveal) actions.push(linkButton('Add contact', '#/contacts/new', 'primary', { id: 'add-contact' }));
  if (can('contacts.import')) actions.push(linkButton('Import', listId ? `#/imports?list=${encodeURIComponent(listId)}` : '#/imports', 'secondary', { id: 'import-contacts' }));

  const tableBox = h('div', { class: 'contacts-table' }, loading('Loading contacts…'));
  const searchResult = h('div', { class: 'search-result', 'aria-live': 'polite' });
  const listSelect = field({ label: 'List', name: 'list', type: 'select', options: [{ value: '', label: 'All contacts' }], value: listId });
  const select = listSelect.querySelector('select');
  select.addEventListener('change', () => {
    ctx.go(select.value ? `#/contacts?list=${encodeURIComponent(select.value)}` : '#/contacts');
  });

  const search = form({
    id: 'search-form',
    class: 'form-inline form-search',
    submitLabel: 'Search',
    fields: [field({ label: 'Find by exact address', name: 'email', type: 'email', attrs: { placeholder: 'name@example.org', autocomplete: 'off' } })],
    onSubmit: async (el, values) => {
      const email = values.email.trim();
      if (!email) {
        const e = new Error('Type the whole address: the search is exact.');
        e.text = e.message;
        e.field = 'email';
        throw e;
      }
      clear(searchResult).append(loading('Searching…'));
      const r = await api.get('/contacts/search', { email }).catch((err) => { clear(searchResult); throw err; });
      clear(searchResult).append(r.found
        ? h('div', { class: 'notice notice-success' },
          h('p', {}, 'Found: ', h('a', { href: `#/contacts/${encodeURIComponent(r.contact.id)}`, class: 'strong-link', text: r.contact.email }), ' ', statusBadge(r.contact.status)))
        : h('div', { class: 'notice' }, h('p', { text: `No contact has the address ${email}.` })));
    },
  });

  clear(container).append(
    pageHeader('Contacts', reveal ? 'Everyone you can send to, with their consent history.' : 'Addresses are masked for your role. Search finds a contact by its exact address.', ...actions),
    reveal ? null : h('p', { class: 'notice', id: 'masked-notice', text: 'Your role (author) sees addresses masked, like j***@***.be. You can still check whether an exact address is a contact.' }),
    h('div', { class: 'toolbar' }, h('div', { class: 'toolbar-filter' }, listSelect), search),
    searchResult,
    card(null, tableBox));

  allLists().then((lists) => {
    for (const l of lists) select.append(h('option', { value: l.id, selected: l.id === listId }, `${l.name} (${l.member_count})`));
    if (listId && !lists.some((l) => l.id === listId)) select.value = '';
  }).catch(() => { /* the filter stays at "All contacts" */ });

  const rows = [];
  let cursor = null;
  async function loadMore(first) {
    let page;
    try {
      page = await api.get('/contacts', { list: listId, limit: PAGE, cursor });
    } catch (err) {
      clear(tableBox).append(errorState(err, () => { rows.length = 0; cursor = null; clear(tableBox).append(loading()); loadMore(true); }));
      return;
    }
    rows.push(...page.items);
    cursor = page.next_cursor;
    if (first && !rows.length) {
      clear(tableBox).append(empty(listId ? 'No contacts on this list' : 'No contacts yet',
        reveal ? 'Add a contact by hand, or import a CSV file.' : 'Owners and admins add contacts.',
        reveal ? linkButton('Add contact', '#/contacts/new', 'primary') : null));
      return;
    }
    const more = cursor ? button('Load more', async (e) => { e.target.disabled = true; e.target.textContent = 'Loading…'; await loadMore(false); }, 'secondary', { id: 'load-more' }) : null;
    clear(tableBox).append(
      table([
        { label: 'Email', render: (c) => h('a', { href: `#/contacts/${encodeURIComponent(c.id)}`, class: 'strong-link contact-email', text: c.email || '(erased)' }) },
        { label: 'Status', render: (c) => statusBadge(c.status) },
        { label: 'Added', render: (c) => fmtDay(c.created_at) },
      ], rows, { caption: 'Contacts', rowAttrs: (c) => ({ 'data-contact': c.id }) }),
      h('div', { class: 'pager' }, h('span', { class: 'muted', text: `${rows.length} shown${cursor ? ', more available' : ''}` }), more));
  }
  await loadMore(true);
}
