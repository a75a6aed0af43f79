// The small component set every screen is built from: elements, form fields
// with their errors, buttons, cards, tables, badges, toasts, dialogs, and
// loading and empty states. No inline styles anywhere (the CSP forbids
// them): every look is a class of style.css.

let uid = 0;
export function nextId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

// h('button', {class: 'btn', onclick: fn}, 'Save') -> an element. Children may be
// strings, nodes, arrays, or null/false (skipped).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value' && 'value' in el) {
      if ('defaultValue' in el) el.defaultValue = value; // what form.reset() goes back to
      el.value = value;
    } else if (key === 'checked') el.defaultChecked = el.checked = Boolean(value);
    else if (key === 'selected') el.defaultSelected = el.selected = Boolean(value);
    else if (key === 'disabled' || key === 'hidden' || key === 'multiple' || key === 'required') el[key] = Boolean(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Empties an element; clear(el).append(...) then adds children, skipping null and false
// (the DOM's own append would print them as text).
export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return { el, append: (...children) => { append(el, children); return el; } };
}

// ---- page structure ----

export function pageHeader(title, description, ...actions) {
  return h('div', { class: 'page-header' },
    h('div', { class: 'page-heading' },
      h('h1', { text: title, tabindex: '-1', class: 'page-title' }),
      description ? h('p', { class: 'page-description', text: description }) : null),
    actions.length ? h('div', { class: 'page-actions' }, actions) : null);
}

export function card(title, ...children) {
  return h('section', { class: 'card' },
    title ? h('h2', { class: 'card-title', text: title }) : null,
    children);
}

export function button(label, onclick, kind = 'secondary', attrs = {}) {
  return h('button', { type: 'button', class: `btn btn-${kind}`, onclick, ...attrs }, label);
}

export function linkButton(label, href, kind = 'secondary', attrs = {}) {
  return h('a', { class: `btn btn-${kind}`, href, ...attrs }, label);
}

export function badge(text, kind = 'neutral') {
  return h('span', { class: `badge badge-${kind}`, text });
}

export function loading(message = 'Loading…') {
  return h('div', { class: 'state state-loading', role: 'status', 'aria-live': 'polite' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { text: message }));
}

export function empty(title, text, ...actions) {
  return h('div', { class: 'state state-empty' },
    h('p', { class: 'state-title', text: title }),
    text ? h('p', { class: 'state-text', text }) : null,
    actions.length ? h('div', { class: 'state-actions' }, actions) : null);
}

export function errorState(err, retry) {
  return h('div', { class: 'state state-error', role: 'alert' },
    h('p', { class: 'state-title', text: err && err.status === 403 ? 'Not available for your role' : 'Something went wrong' }),
    h('p', { class: 'state-text', text: err ? (err.text || err.message) : '' }),
    retry ? h('div', { class: 'state-actions' }, button('Try again', retry)) : null);
}

// A table: columns [{label, render(row) -> node|string, class?}], rows [...].
export function table(columns, rows, { caption, rowAttrs } = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'table' },
      caption ? h('caption', { class: 'visually-hidden', text: caption }) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
      h('tbody', {}, rows.map((row) => h('tr', rowAttrs ? rowAttrs(row) : {},
        columns.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.render(row))))))));
}

export function definitionList(pairs) {
  return h('dl', { class: 'details' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

// ---- forms ----

// A labelled control with its hint and its error line. opts: label, name (the API
// field the server names in errors), type (text, email, password, number, select,
// textarea, checkbox), value, hint, options [{value, label}], attrs.
export function field(opts) {
  const id = opts.id || nextId(opts.name || 'f');
  const errorId = `${id}-error`;
  const hintId = opts.hint ? `${id}-hint` : null;
  const described = [hintId, errorId].filter(Boolean).join(' ');
  const common = {
    id,
    name: opts.name,
    'aria-describedby': described,
    required: opts.required,
    dataset: { field: opts.apiField || opts.name },
    ...(opts.attrs || {}),
  };
  let control;
  if (opts.type === 'select') {
    control = h('select', common, (opts.options || []).map((o) => h('option', { value: o.value, selected: String(o.value) === String(opts.value) }, o.label)));
  } else if (opts.type === 'textarea') {
    control = h('textarea', { rows: opts.rows || 3, ...common });
    control.defaultValue = opts.value || '';
  } else if (opts.type === 'checkbox' || opts.type === 'switch') {
    control = h('input', { type: 'checkbox', ...common, checked: Boolean(opts.value), class: opts.type === 'switch' ? 'switch' : null });
    return h('div', { class: ['form-field', 'form-check', opts.class] },
      h('div', { class: 'check-row' }, control, h('label', { for: id, text: opts.label })),
      opts.hint ? h('p', { class: 'hint', id: hintId, text: opts.hint }) : null,
      h('p', { class: 'field-error', id: errorId, role: 'alert', hidden: true }));
  } else {
    control = h('input', { type: opts.type || 'text', value: opts.value ?? '', ...common });
  }
  return h('div', { class: ['form-field', opts.class] },
    h('label', { for: id }, opts.label, opts.optional ? h('span', { class: 'optional', text: ' (optional)' }) : null),
    opts.hint ? h('p', { class: 'hint', id: hintId, text: opts.hint }) : null,
    control,
    h('p', { class: 'field-error', id: errorId, role: 'alert', hidden: true }));
}

// A form with a general error box at the top and the submit button at the end.
// onSubmit(form, values) may throw an ApiError: it is shown next to its field.
export function form({ fields, submitLabel = 'Save', onSubmit, secondary, class: cls, id }) {
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, submitLabel);
  const el = h('form', { class: ['form', cls], novalidate: true, id },
    h('div', { class: 'form-alert', role: 'alert', hidden: true }),
    fields,
    h('div', { class: 'form-actions' }, submit, secondary || null));
  el.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(el);
    submit.disabled = true;
    el.setAttribute('aria-busy', 'true');
    try {
      await onSubmit(el, formValues(el));
    } catch (err) {
      showError(el, err);
    } finally {
      submit.disabled = false;
      el.removeAttribute('aria-busy');
    }
  });
  return el;
}

export function formValues(formEl) {
  const out = {};
  for (const el of formEl.querySelectorAll('input[name], select[name], textarea[name]')) {
    if (el.type === 'checkbox') out[el.name] = el.checked;
    else if (el.type === 'radio') { if (el.checked) out[el.name] = el.value; }
    else if (el.type !== 'file') out[el.name] = el.value;
  }
  return out;
}

export function clearErrors(formEl) {
  for (const p of formEl.querySelectorAll('.field-error')) { p.textContent = ''; p.hidden = true; }
  for (const c of formEl.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  const alert = formEl.querySelector('.form-alert');
  if (alert) { alert.textContent = ''; alert.hidden = true; }
}

// Marks one control invalid with a message under it.
export function setFieldError(control, message) {
  const box = document.getElementById(`${control.id}-error`);
  if (box) { box.textContent = message; box.hidden = false; }
  control.setAttribute('aria-invalid', 'true');
}

// Finds the control a server error names: "consent.basis" -> [data-field="consent.basis"],
// else its parent name ("consent"), else the form's alert box.
export function showError(formEl, err) {
  const message = err && err.text ? err.text : String(err && err.message ? err.message : err);
  let control = null;
  if (err && err.field) {
    const names = [err.field];
    const parts = err.field.split('.');
    while (parts.length > 1) { parts.pop(); names.push(parts.join('.')); }
    for (const name of names) {
      control = formEl.querySelector(`[data-field="${CSS.escape(name)}"]`);
      if (control) break;
    }
  }
  if (control) {
    setFieldError(control, message);
    control.focus();
    return;
  }
  const alert = formEl.querySelector('.form-alert');
  if (alert) { alert.textContent = message; alert.hidden = false; alert.focus?.(); }
  else toast(message, 'error');
}

// ---- toasts and dialogs ----

function toastRegion() {
  let region = document.getElementById('toasts');
  if (!region) {
    region = h('div', { id: 'toasts', class: 'toasts', 'aria-live': 'polite', role: 'status' });
    document.body.append(region);
  }
  return region;
}

export function toast(message, kind = 'success') {
  const item = h('div', { class: `toast toast-${kind}` }, h('span', { text: message }),
    h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss', onclick: () => item.remove() }, '×'));
  const region = toastRegion();
  region.append(item);
  while (region.children.length > 3) region.firstChild.remove();
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}

// A modal <dialog>; resolves with what the action returned, or null when cancelled.
export function dialog({ title, body, actions }) {
  return new Promise((resolve) => {
    const titleId = nextId('dlg');
    const d = h('dialog', { class: 'dialog', 'aria-labelledby': titleId });
    const close = (value) => { d.close(); d.remove(); resolve(value); };
    d.append(
      h('h2', { class: 'dialog-title', id: titleId, text: title }),
      h('div', { class: 'dialog-body' }, body),
      h('div', { class: 'dialog-actions' }, actions(close)));
    d.addEventListener('cancel', (e) => { e.preventDefault(); close(null); });
    document.body.append(d);
    d.showModal();
  });
}

// Confirmation before a destructive action. Resolves true or false.
export async function confirm({ title, message, confirmLabel = 'Delete', danger = true }) {
  const result = await dialog({
    title,
    body: h('p', { text: message }),
    actions: (close) => [
      button('Cancel', () => close(false), 'secondary'),
      button(confirmLabel, () => close(true), danger ? 'danger' : 'primary', { 'data-confirm': 'yes' }),
    ],
  });
  return result === true;
}

// ---- formatting ----

export function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function fmtDay(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

// The copy-to-clipboard button next to a secret shown once.
export function copyButton(getText, label = 'Copy') {
  const b = button(label, async () => {
    try {
      await navigator.clipboard.writeText(getText());
      toast('Copied to the clipboard.');
    } catch {
      toast('Copying is not allowed here: select the text and copy it yourself.', 'error');
    }
  }, 'secondary', { class: 'btn btn-secondary btn-small' });
  return b;
}

// ---- progress and downloads ----

// A labelled <progress> with a line of text under it. update(done, total, text):
// total 0 shows an indeterminate bar (the size is not known yet).
export function progressBar(label) {
  const id = nextId('progress');
  const bar = h('progress', { class: 'progress', id, max: '1', 'aria-describedby': `${id}-text` });
  const text = h('p', { class: 'progress-text', id: `${id}-text`, 'aria-live': 'polite' });
  const element = h('div', { class: 'progress-box' }, h('label', { for: id, class: 'progress-label', text: label }), bar, text);
  return {
    element,
    bar,
    update(done, total, message) {
      if (total > 0) {
        bar.max = total;
        bar.value = Math.min(done, total);
      } else {
        bar.removeAttribute('value');
      }
      text.textContent = message || '';
    },
  };
}

// Saves a Blob as a file the person downloads (the blob: URL lives only for the click).
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, class: 'visually-hidden' }, filename);
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

// A Blob as a data: URL (the CSP allows data: images, not blob: ones).
export function blobToDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

// Runs fn every `ms` until stop() (or fn returns false); one call at a time, never overlapping.
export function poller(fn, ms) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    timer = null;
    if (stopped) return;
    let more = true;
    try { more = await fn(); } catch { /* the next tick tries again */ }
    if (!stopped && more !== false) timer = setTimeout(tick, ms);
  };
  tick();
  return { stop() { stopped = true; if (timer) clearTimeout(timer); } };
}
