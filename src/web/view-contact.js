// A contact's page: its fields (sensitive values only for roles that may see
// them), its memberships with subscribe and unsubscribe.
import { api } from './api.js';
import { can, setTitle } from './session.js';
import { h, clear, card, pageHeader, table, badge, button, form, field, toast, confirm, loading, errorState, definitionList, fmtDate, fmtDay, linkButton } from './ui.js';
import { allLists } from './view-lists.js';
import { statusBadge } from './view-contacts.js';
import { consentFieldset } from './consent-form.js';
import { valueField, fieldValues } from './view-contact-new.js';
import { confirmErasure, showReceipt } from './view-privacy.js';

export async function render(container, params, ctx) {
  setTitle('Contact');
  clear(container).append(loading('Loading the contact…'));
  let contact, defs, lists;
  try {
    [contact, defs, lists] = await Promise.all([
      api.get(`/contacts/${encodeURIComponent(params.id)}`),
      api.get('/fields').then((p) => p.items),
      allLists(),
    ]);
  } catch (err) {
    clear(container).append(pageHeader('Contact'), errorState(err, () => render(container, params, ctx)));
    return;
  }
  if (!ctx.isCurrent()) return;
  const reveal = can('contacts.view_addresses');
  const title = contact.email || `Erased contact ${contact.pseudonym || ''}`.trim();
  setTitle(title, 'Contact');
  const byId = new Map(lists.map((l) => [l.id, l]));
  const values = contact.fields || {};

  // Fields.
  const fieldRows = defs.map((d) => {
    let shown;
    if (Object.prototype.hasOwnProperty.call(values, d.key)) {
      shown = h('span', { class: 'field-value', text: String(values[d.key]) });
    } else if (d.sensitive && !reveal) {
      shown = h('span', { class: 'muted', text: 'Hidden for your role' });
    } else {
      shown = h('span', { class: 'muted', text: '—' });
    }
    return [h('span', {}, d.label, d.sensitive ? [' ', badge('Sensitive', 'sensitive')] : null), shown];
  });
  const fieldsBody = h('div', {});
  const showFields = () => {
    clear(fieldsBody).append(defs.length
      ? definitionList(fieldRows)
      : h('p', { class: 'muted' }, 'No custom fields in this account. ', h('a', { href: '#/fields', text: 'Add fields' }), '.'));
    if (reveal && defs.length && contact.status !== 'erased') {
      fieldsBody.append(button('Edit fields', editFields, 'secondary', { class: 'btn btn-secondary btn-small' }));
    }
  };
  const editFields = () => {
    const f = form({
      id: 'contact-fields-form',
      submitLabel: 'Save fields',
      secondary: button('Cancel', showFields),
      fields: h('div', { class: 'form-grid' }, defs.map((d) => valueField(d, values[d.key]))),
      onSubmit: async (el) => {
        await api.patch(`/contacts/${encodeURIComponent(contact.id)}`, { fields: fieldValues(el, defs, { includeEmpty: true }) });
        toast('Fields saved.');
        ctx.go(location.hash);
      },
    });
    clear(fieldsBody).append(f);
  };
  showFields();

  // Memberships.
  const memberships = contact.lists || [];
  const membershipBox = memberships.length
    ? table([
      { label: 'List', render: (m) => (byId.get(m.list_id) ? byId.get(m.list_id).name : m.list_id) },
      { label: 'Status', render: (m) => statusBadge(m.status) },
      { label: 'Since', render: (m) => fmtDay(m.since) },
      { label: 'Consent statement', render: (m) => (m.statement_id ? h('code', { class: 'small', text: m.statement_id }) : h('span', { class: 'muted', text: '—' })) },
      {
        label: 'Actions', class: 'actions',
        render: (m) => (reveal && m.status === 'subscribed'
          ? button('Unsubscribe', () => unsubscribe(m), 'danger', { class: 'btn btn-danger-quiet btn-small' })
          : null),
      },
    ], memberships, { caption: 'Memberships', rowAttrs: (m) => ({ 'data-list-id': m.list_id }) })
    : h('p', { class: 'muted', text: 'Not on any list.' });

  async function unsubscribe(m) {
    const name = byId.get(m.list_id) ? byId.get(m.list_id).name : 'this list';
    const ok = await confirm({ title: 'Unsubscribe?', message: `${contact.email} will no longer receive campaigns sent to “${name}”. The consent log keeps the history.`, confirmLabel: 'Unsubscribe' });
    if (!ok) return;
    try {
      await api.del(`/lists/${encodeURIComponent(m.list_id)}/members/${encodeURIComponent(contact.id)}`);
      toast(`Unsubscribed from “${name}”.`);
      ctx.go(location.hash);
    } catch (err) {
      toast(err.text || err.message, 'error');
    }
  }

  let subscribeCard = null;
  const subscribed = new Set(memberships.filter((m) => m.status === 'subscribed').map((m) => m.list_id));
  const candidates = lists.filter((l) => !subscribed.has(l.id));
  if (reveal && contact.status !== 'erased' && candidates.length) {
    const consent = consentFieldset({ intro: 'This list is public: say how and on what basis you obtained the address. It is recorded in the consent log.' });
    const f = form({
      id: 'subscribe-form',
      submitLabel: 'Subscribe',
      fields: [
        field({ label: 'List', name: 'list', type: 'select', apiField: 'list', options: candidates.map((l) => ({ value: l.id, label: `${l.name}${l.public ? ' (public)' : ''}` })) }),
        consent.element,
      ],
      onSubmit: async (el, v) => {
        if (consent.busy()) {
          const e = new Error('Wait until the evidence images are uploaded.');
          e.text = e.message;
          throw e;
        }
        const body = { contact_ids: [contact.id] };
        const c = consent.element.hidden ? null : consent.value();
        if (c) body.consent = c;
        await api.post(`/lists/${encodeURIComponent(v.list)}/members`, body);
        toast(`Subscribed to “${byId.get(v.list).name}”.`);
        ctx.go(location.hash);
      },
    });
    const listSelect = f.querySelector('select[name=list]');
    const syncConsent = () => {
      const l = byId.get(listSelect.value);
      consent.element.hidden = !(l && l.public);
    };
    listSelect.addEventListener('change', syncConsent);
    syncConsent();
    subscribeCard = card('Subscribe to a list', f);
  }

  // The privacy centre's history (subject access there too) and erasure, for roles that may.
  function privacyCard() {
    if (contact.status === 'erased' || !contact.email || !can('consent.history')) return null;
    const actions = [linkButton('History and subject access', `#/privacy?contact=${encodeURIComponent(contact.id)}`, 'secondary', { id: 'contact-history' })];
    if (can('erasure.run')) {
      actions.push(button('Erase…', async () => {
        const receipt = await confirmErasure(contact.email);
        if (!receipt) return;
        await showReceipt(receipt);
        ctx.go(location.hash);
      }, 'danger', { class: 'btn btn-danger-quiet', id: 'contact-erase' }));
    }
    return card('Privacy',
      h('p', { class: 'card-intro', text: 'What this person agreed to and when, with the evidence; their right to be forgotten.' }),
      h('div', { class: 'button-row' }, actions));
  }

  clear(container).append(
    pageHeader(title, null, linkButton('All contacts', '#/contacts')),
    card('Contact',
      definitionList([
        ['Email', h('span', { class: 'contact-email', id: 'contact-email', text: contact.email || '(erased)' })],
        ['Status', statusBadge(contact.status)],
        ['Added', fmtDate(contact.created_at)],
        contact.pseudonym ? ['Pseudonym', contact.pseudonym] : null,
      ]),
      reveal ? null : h('p', { class: 'hint', text: 'The address is masked for your role.' })),
    privacyCard(),
    card('Fields', fieldsBody),
    card('Lists', membershipBox),
    subscribeCard);
}
