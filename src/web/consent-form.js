// The consent statement part of a form: a new statement (legal basis, how the
// address was obtained, evidence images uploaded at once with a thumbnail) or
// the id of an existing statement. Used by "add contact" and "subscribe";
// the privacy centre and imports (part 2) can reuse it.
import { api } from './api.js';
import { BASES } from './session.js';
import { h, field, nextId, setFieldError, button } from './ui.js';

const TYPES = ['image/png', 'image/jpeg', 'image/webp'];
const MAX_BYTES = 10 * 1024 * 1024;
const MAX_FILES = 10;

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

// Returns {element, value(), busy()}. value(): null when nothing was filled in,
// {statement_id} or {basis, description, evidence_ids}.
export function consentFieldset({ legend = 'Consent statement', intro } = {}) {
  const modeName = nextId('consent-mode');
  const newId = nextId('mode');
  const reuseId = nextId('mode');
  const evidence = []; // {id, name, status: 'uploading'|'done'|'failed'}

  const basis = field({
    label: 'Legal basis', name: 'basis', apiField: 'consent.basis', type: 'select',
    options: [{ value: '', label: 'Choose the basis…' }, ...BASES.map((b) => ({ value: b.value, label: b.label }))],
  });
  const basisHelp = h('p', { class: 'hint basis-help', 'aria-live': 'polite' });
  const basisSelect = basis.querySelector('select');
  basisSelect.addEventListener('change', () => {
    const b = BASES.find((x) => x.value === basisSelect.value);
    basisHelp.textContent = b ? b.help : '';
  });
  basis.append(basisHelp);

  const description = field({
    label: 'How the address was obtained', name: 'description', apiField: 'consent.description', type: 'textarea', rows: 3,
    hint: 'Where, when and how, in words you could show a regulator: e.g. “Signed up on the paper form at our stand, Ghent fair, 3 March 2026”.',
  });

  const fileId = nextId('evidence');
  const fileInput = h('input', {
    type: 'file', id: fileId, accept: TYPES.join(','), multiple: true, class: 'file-input',
    'aria-describedby': `${fileId}-hint ${fileId}-error`, 'data-field': 'consent.evidence_ids',
  });
  const thumbs = h('ul', { class: 'thumbs', 'aria-label': 'Uploaded evidence' });
  const evidenceField = h('div', { class: 'form-field' },
    h('label', { for: fileId }, 'Evidence images', h('span', { class: 'optional', text: ' (optional)' })),
    h('p', { class: 'hint', id: `${fileId}-hint`, text: 'Screenshots of the sign-up form, a scan of the paper form… PNG, JPEG or WebP, up to 10 MB each. They are stored encrypted with the statement.' }),
    fileInput,
    h('p', { class: 'field-error', id: `${fileId}-error`, role: 'alert', hidden: true }),
    thumbs);

  fileInput.addEventListener('change', async () => {
    const box = document.getElementById(`${fileId}-error`);
    box.hidden = true;
    fileInput.removeAttribute('aria-invalid');
    const files = [...fileInput.files];
    fileInput.value = '';
    for (const file of files) {
      if (evidence.length >= MAX_FILES) { setFieldError(fileInput, `A statement holds at most ${MAX_FILES} images.`); break; }
      if (!TYPES.includes(file.type)) { setFieldError(fileInput, `${file.name}: only PNG, JPEG or WebP images.`); continue; }
      if (file.size > MAX_BYTES) { setFieldError(fileInput, `${file.name} is larger than 10 MB.`); continue; }
      const item = { id: null, name: file.name, status: 'uploading' };
      evidence.push(item);
      const img = h('img', { class: 'thumb-img', alt: `Evidence: ${file.name}` });
      const state = h('span', { class: 'thumb-state', text: 'Uploading…' });
      const li = h('li', { class: 'thumb thumb-uploading' }, img,
        h('div', { class: 'thumb-meta' }, h('span', { class: 'thumb-name', text: file.name }), state,
          button('Remove', () => { evidence.splice(evidence.indexOf(item), 1); li.remove(); }, 'link', { class: 'btn btn-link btn-small', 'aria-label': `Remove ${file.name}` })));
      thumbs.append(li);
      readAsDataUrl(file).then((url) => { img.src = url; }).catch(() => {});
      try {
        const stored = await api.upload('/evidence', file);
        item.id = stored.id;
        item.status = 'done';
        li.className = 'thumb thumb-done';
        li.dataset.evidenceId = stored.id;
        state.textContent = `Stored · ${Math.max(1, Math.round(stored.size / 1024))} KB`;
      } catch (err) {
        item.status = 'failed';
        li.className = 'thumb thumb-failed';
        state.textContent = 'Refused';
        setFieldError(fileInput, `${file.name}: ${err.text || err.message}`);
      }
    }
  });

  const newPart = h('div', { class: 'consent-new' }, basis, description, evidenceField);
  const statementId = field({
    label: 'Statement id', name: 'statement_id', apiField: 'consent.statement_id',
    hint: 'The id of a statement made before (for example for a batch of addresses from the same event).',
    attrs: { autocomplete: 'off', spellcheck: 'false', class: 'input-mono' },
  });
  const reusePart = h('div', { class: 'consent-reuse', hidden: true }, statementId);

  const modeNew = h('input', { type: 'radio', name: modeName, id: newId, value: 'new', checked: true });
  const modeReuse = h('input', { type: 'radio', name: modeName, id: reuseId, value: 'reuse' });
  const switchMode = () => { newPart.hidden = !modeNew.checked; reusePart.hidden = !modeReuse.checked; };
  modeNew.addEventListener('change', switchMode);
  modeReuse.addEventListener('change', switchMode);

  const legendId = nextId('consent');
  const element = h('fieldset', { class: 'consent-fieldset', id: legendId, 'data-field': 'consent', 'aria-describedby': `${legendId}-error` },
    h('legend', { text: legend }),
    intro ? h('p', { class: 'hint', text: intro }) : null,
    h('p', { class: 'field-error', id: `${legendId}-error`, role: 'alert', hidden: true }),
    h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'Statement' },
      h('div', { class: 'segment' }, modeNew, h('label', { for: newId, text: 'New statement' })),
      h('div', { class: 'segment' }, modeReuse, h('label', { for: reuseId, text: 'Reuse a statement' }))),
    newPart, reusePart);

  return {
    element,
    busy: () => evidence.some((e) => e.status === 'uploading'),
    value() {
      if (modeReuse.checked) {
        const id = statementId.querySelector('input').value.trim();
        return id ? { statement_id: id } : null;
      }
      const b = basisSelect.value;
      const d = description.querySelector('textarea').value.trim();
      const ids = evidence.filter((e) => e.status === 'done').map((e) => e.id);
      if (!b && !d && !ids.length) return null;
      const out = { basis: b, description: d };
      if (ids.length) out.evidence_ids = ids;
      return out;
    },
  };
}
