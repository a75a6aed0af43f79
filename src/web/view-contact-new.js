// Add a contact: the address, its field values, its lists, and the consent
// statement (required by the server as soon as one list is public).
import { api } from './api.js';
import { setTitle } from './session.js';
import { h, clear, card, pageHeader, field, form, badge, loading, errorState, toast, linkButton, nextId } from './ui.js';
import { allLists } from './view-lists.js';
import { consentFieldset } from './consent-form.js';

// The input of one custom field, by type.
export function valueField(f, value) {
  const label = f.label;
  const hint = f.sensitive ? 'Sensitive: stored encrypted.' : null;
  const base = { label, name: `field:${f.key}`, apiField: `fields.${f.key}`, hint, optional: true };
  if (f.type === 'bool') return field({ ...base, type: 'checkbox', value: value === 'true' || value === true });
  if (f.type === 'number') return field({ ...base, type: 'number', value: value ?? '', attrs: { step: 'any' } });
  if (f.type === 'date') return field({ ...base, type: 'date', value: value ?? '' });
  return field({ ...base, value: value ?? '', attrs: { maxlength: '1000' } });
}

// {key: value} of the filled-in custom fields of a form.
export function fieldValues(formEl, defs, { includeEmpty = false } = {}) {
  const out = {};
  for (const f of defs) {
    const input = formEl.querySelector(`[name="field:${CSS.escape(f.key)}"]`);
    if (!input) continue;
    if (f.type === 'bool') {
      if (input.checked) out[f.key] = true;
      else if (includeEmpty) out[f.key] = false;
    } else if (input.value.trim() !== '') {
      out[f.key] = f.type === 'number' ? Number(input.value) : input.value.trim();
    } else if (includeEmpty) {
      out[f.key] = null;
    }
  }
  return out;
}

export async function render(container, params, ctx) {
  setTitle('Add contact');
  clear(container).append(pageHeader('Add contact', 'One person, with how you obtained their address.'), loading());
  let defs, lists;
  try {
    [defs, lists] = await Promise.all([api.get('/fields').then((p) => p.items), allLists()]);
  } catch (err) {
    container.lastChild.replaceWith(errorState(err, () => render(container, params, ctx)));
    return;
  }
  const preselect = params.query.get('list');
  const listsId = nextId('lists');
  const listBoxes = h('fieldset', { class: 'form-field check-list', 'data-field': 'lists', id: listsId, 'aria-describedby': `${listsId}-error` },
    h('legend', { text: 'Lists' }),
    lists.length
      ? lists.map((l) => {
        const id = nextId('list');
        return h('div', { class: 'check-row' },
          h('input', { type: 'checkbox', id, value: l.id, class: 'list-choice', 'data-public': l.public ? 'yes' : 'no', checked: l.id === preselect }),
          h('label', { for: id }, l.name, ' ', l.public ? badge('Public', 'public') : badge('Private', 'neutral')));
      })
      : h('p', { class: 'hint' }, 'No lists yet. ', h('a', { href: '#/lists', text: 'Create one' }), ' to send campaigns to this contact.'),
    h('p', { class: 'field-error', id: `${listsId}-error`, role: 'alert', hidden: true }));

  const consent = consentFieldset({ intro: 'Required when one of the lists is public. Recorded in the consent log with today’s date.' });
  const publicNote = h('p', { class: 'notice notice-warning', hidden: true, text: 'A public list is selected: fill in the consent statement.' });
  const updateNote = () => {
    publicNote.hidden = ![...listBoxes.querySelectorAll('.list-choice')].some((c) => c.checked && c.dataset.public === 'yes');
  };
  listBoxes.addEventListener('change', updateNote);
  updateNote();

  const f = form({
    id: 'contact-form',
    submitLabel: 'Add contact',
    secondary: linkButton('Cancel', '#/contacts'),
    fields: [
      field({ label: 'Email address', name: 'email', type: 'email', attrs: { autocomplete: 'off', spellcheck: 'false' } }),
      defs.length ? h('div', { class: 'form-grid' }, defs.map((d) => valueField(d))) : null,
      listBoxes,
      publicNote,
      consent.element,
    ],
    onSubmit: async (el, values) => {
      if (consent.busy()) {
        const e = new Error('Wait until the evidence images are uploaded.');
        e.text = e.message;
        e.field = 'consent.evidence_ids';
        throw e;
      }
      const body = { email: values.email.trim() };
      const fv = fieldValues(el, defs);
      if (Object.keys(fv).length) body.fields = fv;
      const chosen = [...listBoxes.querySelectorAll('.list-choice')].filter((c) => c.checked).map((c) => c.value);
      if (chosen.length) body.lists = chosen;
      const c = consent.value();
      if (c) body.consent = c;
      const created = await api.post('/contacts', body);
      toast(`Contact ${created.email} added.`);
      ctx.go(`#/contacts/${encodeURIComponent(created.id)}`);
    },
  });
  container.lastChild.replaceWith(card(null, f));
  f.querySelector('input[name=email]').focus();
}
