// Imports: upload a CSV file into lists (multipart POST /imports) with a
// column-mapping preview read in the browser from the file's first lines and
// the consent statement; then #/imports/ID follows the import (a live
// progress bar polling GET /imports/ID) and shows its per-line report.
import { api } from './api.js';
import { can, role, setTitle } from './session.js';
import { h, clear, card, pageHeader, field, form, table, badge, button, linkButton, loading, errorState, empty, nextId, setFieldError, progressBar, poller, plural, fmtDate } from './ui.js';
import { allLists } from './view-lists.js';
import { consentFieldset } from './consent-form.js';

const PREVIEW_BYTES = 64 * 1024;
const SAMPLE_ROWS = 5;
const POLL_MS = 600;

// ---- the file's first lines, read in the browser ----

// The delimiter as the server chooses it: ';' when the first line has more of them than ','.
function delimiterOf(firstLine) {
  let commas = 0;
  let semis = 0;
  let quoted = false;
  for (const ch of firstLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === ',') commas += 1;
    else if (!quoted && ch === ';') semis += 1;
  }
  return semis > commas ? ';' : ',';
}

// RFC 4180 records of `text`; `complete`: the text is the whole file (else the
// last record may be cut and is dropped).
export function parseCsv(text, complete, maxRecords) {
  const src = text.replace(/^\uFEFF/, '');
  const firstEnd = src.search(/\r?\n/);
  const delim = delimiterOf(firstEnd < 0 ? src : src.slice(0, firstEnd));
  const records = [];
  let cells = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  let ended = false;
  const endRecord = () => {
    cells.push(cell.trim());
    if (!(cells.length === 1 && cells[0] === '')) records.push(cells);
    cells = [];
    cell = '';
  };
  while (i < src.length && records.length < maxRecords) {
    const ch = src[i];
    if (quoted) {
      if (ch === '"' && src[i + 1] === '"') { cell += '"'; i += 2; continue; }
      if (ch === '"') { quoted = false; i += 1; continue; }
      cell += ch;
      i += 1;
      continue;
    }
    if (ch === '"') { quoted = true; i += 1; continue; }
    if (ch === delim) { cells.push(cell.trim()); cell = ''; i += 1; continue; }
    if (ch === '\r' && src[i + 1] === '\n') { endRecord(); i += 2; continue; }
    if (ch === '\n' || ch === '\r') { endRecord(); i += 1; continue; }
    cell += ch;
    i += 1;
  }
  if (i >= src.length) ended = true;
  if (ended && complete && (cell !== '' || cells.length)) endRecord();
  return { delimiter: delim, records };
}

// What a header cell maps to by default, as the server matches names.
function defaultTarget(name, defs) {
  const n = name.trim().toLowerCase();
  if (n === 'email' || n === 'e-mail' || n === 'email address') return 'email';
  const f = defs.find((d) => d.key.toLowerCase() === n || d.label.toLowerCase() === n);
  return f ? f.key : '';
}

// ---- the upload form ----

async function renderUpload(container, params, ctx) {
  setTitle('Import contacts');
  clear(container).append(pageHeader('Import contacts', 'Add the addresses of a CSV file to your lists, with how you obtained them.'), loading());
  let defs;
  let lists;
  try {
    [defs, lists] = await Promise.all([api.get('/fields').then((p) => p.items), allLists()]);
  } catch (err) {
    container.lastChild.replaceWith(errorState(err, () => renderUpload(container, params, ctx)));
    return;
  }
  if (!ctx.isCurrent()) return;
  if (!lists.length) {
    container.lastChild.replaceWith(card(null, empty('No lists yet', 'An import adds addresses to one or more lists: create a list first.', linkButton('Create a list', '#/lists', 'primary'))));
    return;
  }
  const owner = role() === 'owner';
  const preselect = params.query.get('list');

  // The file and its preview.
  const fileId = nextId('csv');
  const fileInput = h('input', {
    type: 'file', id: fileId, name: 'file', accept: '.csv,text/csv,text/plain', class: 'file-input',
    'aria-describedby': `${fileId}-hint ${fileId}-error`, 'data-field': 'file',
  });
  const preview = h('div', { class: 'import-preview', 'data-field': 'columns', id: `${fileId}-map`, tabindex: '-1', 'aria-describedby': `${fileId}-map-error` });
  const mapError = h('p', { class: 'field-error', id: `${fileId}-map-error`, role: 'alert', hidden: true });
  const fileField = h('div', { class: 'form-field' },
    h('label', { for: fileId }, 'CSV file'),
    h('p', { class: 'hint', id: `${fileId}-hint`, text: 'UTF-8, with a header row; cells separated by commas or semicolons. One column holds the email address; the others can fill your fields.' }),
    fileInput,
    h('p', { class: 'field-error', id: `${fileId}-error`, role: 'alert', hidden: true }));
  let header = [];
  let selects = [];

  const targetOptions = [{ value: 'email', label: 'Email address' },
    ...defs.map((d) => ({ value: d.key, label: `${d.label} (${d.key})${d.sensitive ? ' · sensitive' : ''}` })),
    { value: '', label: 'Leave out' }];

  fileInput.addEventListener('change', async () => {
    const box = document.getElementById(`${fileId}-error`);
    box.hidden = true;
    fileInput.removeAttribute('aria-invalid');
    clear(preview);
    header = [];
    selects = [];
    const file = fileInput.files[0];
    if (!file) return;
    let text;
    try {
      text = await file.slice(0, PREVIEW_BYTES).text();
    } catch {
      setFieldError(fileInput, 'The file cannot be read.');
      return;
    }
    const parsed = parseCsv(text, file.size <= PREVIEW_BYTES, SAMPLE_ROWS + 1);
    if (!parsed.records.length) {
      setFieldError(fileInput, 'The file is empty: it needs a header row and at least one line.');
      return;
    }
    [header] = parsed.records;
    const samples = parsed.records.slice(1);
    selects = header.map((name, i) => {
      const id = nextId('map');
      const sel = h('select', { id, class: 'map-select', 'data-column': name, 'aria-label': `Column ${i + 1} “${name}” goes to` },
        targetOptions.map((o) => h('option', { value: o.value, selected: o.value === defaultTarget(name, defs) }, o.label)));
      return sel;
    });
    const colHead = header.map((name, i) => h('th', { scope: 'col' },
      h('span', { class: 'map-name', text: name || `(column ${i + 1})` }),
      selects[i]));
    const body = samples.map((r) => h('tr', {}, header.map((_, i) => h('td', { text: r[i] ?? '' }))));
    const summary = h('p', { class: 'hint map-summary', 'aria-live': 'polite' });
    const updateSummary = () => {
      const left = selects.filter((s) => s.value === '').length;
      const email = selects.filter((s) => s.value === 'email').length;
      summary.textContent = `${plural(header.length, 'column', 'columns')}, separated by “${parsed.delimiter}”. `
        + (email === 1 ? 'The email column is set. ' : 'Choose which column is the email address. ')
        + (left ? `${plural(left, 'column is', 'columns are')} left out.` : 'Every column is imported.');
      for (const s of selects) s.closest('th').classList.toggle('map-left-out', s.value === '');
    };
    for (const s of selects) s.addEventListener('change', updateSummary);
    clear(preview).append(
      h('h3', { class: 'subhead', text: 'Columns' }),
      h('p', { class: 'hint', text: `The first ${plural(samples.length, 'line', 'lines')} of ${file.name}. Under each header, choose where its values go.` }),
      h('div', { class: 'table-wrap preview-wrap' },
        h('table', { class: 'table-preview', id: 'import-preview' },
          h('caption', { class: 'visually-hidden', text: 'Preview of the file' }),
          h('thead', {}, h('tr', {}, colHead)),
          h('tbody', {}, body))),
      summary);
    updateSummary();
  });

  // Lists.
  const listsId = nextId('lists');
  const listBoxes = h('fieldset', { class: 'form-field check-list', 'data-field': 'list_ids', id: listsId, 'aria-describedby': `${listsId}-error` },
    h('legend', { text: 'Into the lists' }),
    lists.map((l) => {
      const id = nextId('list');
      return h('div', { class: 'check-row' },
        h('input', { type: 'checkbox', id, value: l.id, class: 'list-choice', 'data-public': l.public ? 'yes' : 'no', checked: l.id === preselect }),
        h('label', { for: id }, l.name, ' ', l.public ? badge('Public', 'public') : badge('Private', 'neutral'), h('span', { class: 'muted small', text: ` ${plural(l.member_count, 'member', 'members')}` })));
    }),
    h('p', { class: 'field-error', id: `${listsId}-error`, role: 'alert', hidden: true }));

  const modeField = h('fieldset', { class: 'form-field radio-group', 'data-field': 'mode' },
    h('legend', { text: 'Addresses already in the account' }),
    [['add', 'Leave them as they are', 'They are added to the lists; their fields keep their values.'],
      ['upsert', 'Update their fields', 'The file’s values replace the stored ones (empty cells change nothing).']].map(([value, label, help]) => {
      const id = nextId('mode');
      return h('div', { class: 'radio-row' },
        h('input', { type: 'radio', name: 'mode', id, value, checked: value === 'add', 'aria-describedby': `${id}-help` }),
        h('div', {}, h('label', { for: id, text: label }), h('p', { class: 'hint', id: `${id}-help`, text: help })));
    }));

  const consent = consentFieldset({ intro: 'Required when a list is public: one statement for the whole file, recorded in the consent log for every address with today’s date.' });
  const publicNote = h('p', { class: 'notice notice-warning', hidden: true, text: 'A public list is selected: fill in the consent statement.' });
  const updateNote = () => {
    publicNote.hidden = ![...listBoxes.querySelectorAll('.list-choice')].some((c) => c.checked && c.dataset.public === 'yes');
  };
  listBoxes.addEventListener('change', updateNote);
  updateNote();

  let override = null;
  let overrideWarning = null;
  if (owner) {
    override = field({
      label: 'Add suppressed addresses again', name: 'override_suppression', type: 'switch',
      hint: 'Addresses of people who were erased or bounced are refused by default. Owners only.',
    });
    overrideWarning = h('div', { class: 'notice notice-warning', hidden: true, role: 'alert' },
      h('p', {}, h('strong', { text: 'Only when these people gave their consent anew. ' }),
        'Their suppression is lifted and they will receive your campaigns again. The consent statement must be a new one, written for this file (not a reused statement id).'));
    override.querySelector('input').addEventListener('change', (e) => { overrideWarning.hidden = !e.target.checked; });
  }

  const f = form({
    id: 'import-form',
    submitLabel: 'Start the import',
    secondary: linkButton('Cancel', '#/contacts'),
    fields: [fileField, preview, mapError, listBoxes, modeField, publicNote, consent.element,
      override ? h('div', { class: 'override-box' }, override, overrideWarning) : null],
    onSubmit: async () => {
      const file = fileInput.files[0];
      const fail = (fieldName, message) => { const e = new Error(message); e.text = message; e.field = fieldName; throw e; };
      if (!file) fail('file', 'Choose the CSV file to import.');
      if (!header.length) fail('file', 'The file has no header row.');
      const emails = selects.filter((s) => s.value === 'email').length;
      if (emails !== 1) fail('columns', emails ? 'Only one column can be the email address.' : 'Choose which column holds the email address.');
      const chosen = [...listBoxes.querySelectorAll('.list-choice')].filter((c) => c.checked).map((c) => c.value);
      if (!chosen.length) fail('list_ids', 'Choose at least one list.');
      if (consent.busy()) fail('consent.evidence_ids', 'Wait until the evidence images are uploaded.');
      const columns = {};
      header.forEach((name, i) => { columns[name] = selects[i].value || null; });
      const body = new FormData();
      body.append('list_ids', chosen.join(','));
      body.append('mode', f.querySelector('input[name=mode]:checked').value);
      body.append('columns', JSON.stringify(columns));
      const c = consent.value();
      if (c && c.statement_id) body.append('statement_id', c.statement_id);
      if (c && !c.statement_id) {
        if (c.basis) body.append('basis', c.basis);
        if (c.description) body.append('description', c.description);
        if (c.evidence_ids && c.evidence_ids.length) body.append('evidence_ids', c.evidence_ids.join(','));
      }
      if (override && override.querySelector('input').checked) body.append('override_suppression', 'true');
      body.append('file', file, file.name); // last: the server reads the small parts first
      const started = await api.postForm('/imports', body);
      ctx.go(`#/imports/${encodeURIComponent(started.id)}`);
    },
  });
  container.lastChild.replaceWith(card(null, f));
}

// ---- following an import ----

const PHASES = {
  queued: 'Waiting for its turn…',
  checking: 'Checking the file…',
  importing: 'Importing…',
  done: 'Done',
  failed: 'Failed',
};

function countsTable(counts) {
  const rows = [
    ['added', 'Added', 'New contacts in the account.'],
    ['updated', 'Updated', 'Contacts already there that changed: a new list, or new values.'],
    ['skipped', 'Unchanged', 'Contacts already there and on these lists: nothing to do.'],
    ['invalid', 'Rejected', 'Lines that could not be imported: see the report below.'],
    ['duplicates', 'Duplicates', 'Addresses that appear more than once in the file.'],
    ['suppressed', 'Suppressed', 'People who were erased or bounced before: not added again.'],
  ];
  return h('dl', { class: 'stat-grid', id: 'import-counts' }, rows.map(([key, label, help]) => h('div', { class: `stat stat-${key}`, 'data-count': key },
    h('dt', { class: 'stat-label', text: label }),
    h('dd', { class: 'stat-value', text: String(counts[key] ?? 0) }),
    h('dd', { class: 'stat-help', text: help }))));
}

async function renderImport(container, params, ctx) {
  setTitle('Import');
  const id = params.id;
  const bar = progressBar('Lines read');
  const state = h('p', { class: 'import-phase' }, badge('queued', 'neutral'));
  const countsBox = h('div', {});
  const reportBox = h('div', { id: 'import-report' });
  const doneBox = h('div', {});
  let lists = [];
  allLists().then((l) => { lists = l; }).catch(() => {});

  clear(container).append(
    pageHeader('Import', `Import ${id}`, linkButton('New import', '#/imports', 'secondary')),
    card('Progress', state, bar.element, doneBox),
    card('Counts', countsBox),
    card('Report', reportBox));

  let shownReport = false;
  async function showReport(first) {
    // Rejected lines, page by page (the server keeps them with the import).
    const rows = [...first.rejects];
    let cursor = first.next_cursor;
    const draw = () => {
      if (!rows.length) {
        clear(reportBox).append(empty('No line was rejected', 'Every line of the file was read.'));
        return;
      }
      const more = cursor ? button('Show more lines', async (e) => {
        e.target.disabled = true;
        try {
          const page = await api.get(`/imports/${encodeURIComponent(id)}`, { cursor, limit: 100 });
          rows.push(...page.rejects);
          cursor = page.next_cursor;
        } finally { draw(); }
      }, 'secondary') : null;
      clear(reportBox).append(
        h('p', { class: 'card-intro', text: `${plural(rows.length, 'line was', 'lines were')} not imported${first.rejects_truncated ? ' (the report keeps the first ones only)' : ''}. Fix them in the file and import it again: lines already imported are recognised.` }),
        table([
          { label: 'Line', class: 'num', render: (r) => String(r.line) },
          { label: 'Reason', render: (r) => h('span', { class: 'wrap', text: r.reason }) },
        ], rows, { caption: 'Rejected lines', rowAttrs: (r) => ({ 'data-line': String(r.line) }) }),
        more ? h('div', { class: 'pager' }, more) : null);
    };
    draw();
  }

  const p = poller(async () => {
    let imp;
    try {
      imp = await api.get(`/imports/${encodeURIComponent(id)}`);
    } catch (err) {
      if (!ctx.isCurrent()) return false;
      clear(container).append(pageHeader('Import'), errorState(err, () => ctx.go(location.hash)));
      return false;
    }
    if (!ctx.isCurrent()) return false;
    const phase = imp.phase || imp.state;
    const finished = imp.state === 'done' || imp.state === 'failed';
    clear(state).append(
      badge(PHASES[phase] || phase, imp.state === 'done' ? 'success' : imp.state === 'failed' ? 'danger' : 'warning'),
      h('span', { class: 'muted small', text: ` Started ${fmtDate(imp.created_at)}` }));
    state.dataset.state = imp.state;
    const total = imp.rows_total || 0;
    const done = imp.state === 'done' ? Math.max(imp.rows_done, total) : imp.rows_done;
    bar.update(done, imp.state === 'done' ? Math.max(total, done, 1) : total,
      total ? `${done} of ${plural(total, 'line', 'lines')}` : (finished ? '' : 'Counting the lines…'));
    if (imp.state === 'done' && !total && !done) bar.update(1, 1, 'The file had no lines after its header.');
    clear(countsBox).append(countsTable(imp.counts || {}));
    if (imp.state === 'failed') {
      clear(doneBox).append(h('div', { class: 'notice notice-warning', role: 'alert' },
        h('p', { text: `The import stopped: ${imp.error || 'unknown error'}.` }),
        h('p', { text: imp.phase === 'checking' || !imp.rows_done ? 'Nothing of the file was imported.' : 'The lines before the problem were imported.' })));
    }
    if (imp.state === 'done') {
      const listLinks = (imp.lists || []).map((lid) => {
        const l = lists.find((x) => x.id === lid);
        return linkButton(`See the contacts of “${l ? l.name : lid}”`, `#/contacts?list=${encodeURIComponent(lid)}`, 'secondary', { class: 'btn btn-secondary btn-small see-contacts' });
      });
      clear(doneBox).append(h('div', { class: 'notice notice-success', role: 'status', id: 'import-done' },
        h('p', { text: `Import finished: ${imp.counts.added} added, ${imp.counts.updated} updated, ${plural(imp.counts.invalid + imp.counts.duplicates + imp.counts.suppressed, 'line', 'lines')} not imported.` }),
        h('div', { class: 'button-row' }, listLinks)));
    }
    if (finished && !shownReport) {
      shownReport = true;
      await showReport(imp);
    } else if (!finished) {
      clear(reportBox).append(h('p', { class: 'muted', text: 'The report appears when the import is done.' }));
    }
    return !finished;
  }, POLL_MS);
  return () => p.stop();
}

export function render(container, params, ctx) {
  if (!can('contacts.import')) return undefined;
  return params.id ? renderImport(container, params, ctx) : renderUpload(container, params, ctx);
}
