// Custom contact fields: create (with the sensitive switch), edit the label
// and the switch, delete with confirmation. Authors only read them.
import { api } from './api.js';
import { can, setTitle } from './session.js';
import { h, clear, card, pageHeader, field, form, table, badge, button, toast, confirm, loading, errorState, empty, dialog, showError, formValues, clearErrors } from './ui.js';

const TYPES = [
  { value: 'text', label: 'Text' },
  { value: 'number', label: 'Number' },
  { value: 'date', label: 'Date' },
  { value: 'bool', label: 'Yes / no' },
];

const SENSITIVE_HINT = 'Values are stored encrypted, shown only to owners and admins, and still usable as merge tags. Use it for data such as health, beliefs or anything a leak would harm.';

function slug(text) {
  return text.toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').replace(/^[^a-z]+/, '').slice(0, 32);
}

export async function render(container) {
  setTitle('Fields');
  const manage = can('settings.manage');
  const listBox = h('div', {}, loading());
  let createCard = null;
  if (manage) {
    const f = form({
      id: 'field-form',
      submitLabel: 'Add field',
      fields: [
        h('div', { class: 'form-row' },
          field({ label: 'Label', name: 'label', hint: 'As people see it, e.g. “First name”.', attrs: { maxlength: '100', autocomplete: 'off' } }),
          field({ label: 'Key', name: 'key', hint: 'For merge tags and the API: a-z, 0-9 and _.', attrs: { maxlength: '32', autocomplete: 'off', spellcheck: 'false', class: 'input-mono' } }),
          field({ label: 'Type', name: 'type', type: 'select', options: TYPES, value: 'text' })),
        field({ label: 'Sensitive', name: 'sensitive', type: 'switch', hint: SENSITIVE_HINT }),
      ],
      onSubmit: async (el, values) => {
        const created = await api.post('/fields', { key: values.key.trim(), label: values.label.trim(), type: values.type, sensitive: values.sensitive });
        el.reset();
        keyTouched = false;
        toast(`Field “${created.label}” added.`);
        await loadList(listBox, manage);
      },
    });
    const label = f.querySelector('input[name=label]');
    const key = f.querySelector('input[name=key]');
    let keyTouched = false;
    key.addEventListener('input', () => { keyTouched = key.value !== ''; });
    label.addEventListener('input', () => { if (!keyTouched) key.value = slug(label.value); });
    createCard = card('Add a field', f);
  }
  clear(container).append(
    pageHeader('Fields', 'Extra information you keep about contacts, usable as merge tags ({{ key }}) in campaigns.'),
    createCard,
    card('Fields of this account', listBox));
  await loadList(listBox, manage);
}

async function loadList(box, manage) {
  let page;
  try {
    page = await api.get('/fields');
  } catch (err) {
    clear(box).append(errorState(err, () => loadList(box, manage)));
    return;
  }
  if (!page.items.length) {
    clear(box).append(empty('No fields yet', manage ? 'Add one above: a first name, a company, a birthday…' : 'An owner or admin can add them.'));
    return;
  }
  const columns = [
    { label: 'Label', render: (f) => f.label },
    { label: 'Key', render: (f) => h('code', { text: f.key }) },
    { label: 'Type', render: (f) => (TYPES.find((t) => t.value === f.type) || { label: f.type }).label },
    { label: 'Protection', render: (f) => (f.sensitive ? badge('Sensitive · encrypted', 'sensitive') : badge('Normal', 'neutral')) },
  ];
  if (manage) {
    columns.push({
      label: 'Actions', class: 'actions',
      render: (f) => h('div', { class: 'button-row' },
        button('Edit', () => edit(f, box), 'secondary', { class: 'btn btn-secondary btn-small' }),
        button('Delete', () => remove(f, box), 'danger', { class: 'btn btn-danger-quiet btn-small' })),
    });
  }
  clear(box).append(table(columns, page.items, { caption: 'Fields', rowAttrs: (f) => ({ 'data-field-key': f.key }) }));
}

async function edit(f, box) {
  const el = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'form-alert', role: 'alert', hidden: true }),
    field({ label: 'Label', name: 'label', value: f.label, attrs: { maxlength: '100' } }),
    field({ label: 'Sensitive', name: 'sensitive', type: 'switch', value: f.sensitive, hint: SENSITIVE_HINT }));
  const updated = await dialog({
    title: `Edit field “${f.key}”`,
    body: el,
    actions: (close) => [
      button('Cancel', () => close(null)),
      button('Save', async () => {
        clearErrors(el);
        const v = formValues(el);
        try {
          close(await api.patch(`/fields/${encodeURIComponent(f.key)}`, { label: v.label.trim(), sensitive: v.sensitive }));
        } catch (err) {
          showError(el, err);
        }
      }, 'primary'),
    ],
  });
  if (!updated) return;
  toast(updated.reseal_job_id
    ? `Saved. Existing values are being ${updated.sensitive ? 'encrypted' : 'decrypted'} in the background.`
    : 'Field saved.');
  await loadList(box, true);
}

async function remove(f, box) {
  const ok = await confirm({
    title: `Delete the field “${f.label}”?`,
    message: 'Every contact’s value for this field is deleted too, and campaigns using {{ ' + f.key + ' }} will show nothing there. This cannot be undone.',
    confirmLabel: 'Delete field',
  });
  if (!ok) return;
  try {
    await api.del(`/fields/${encodeURIComponent(f.key)}`);
    toast(`Field “${f.label}” deleted.`);
    await loadList(box, true);
  } catch (err) {
    toast(err.text || err.message, 'error');
  }
}
