// One campaign: the editor (name, subject, from, reply-to, lists, HTML and
// text bodies) with merge-tag help and a preview for a chosen contact; test
// sends; sending now or at a time; pause, resume and cancel; live progress
// while it is being sent. Authors write and test; sending needs campaigns.send.
//
// The preview is rendered here, in the browser, into a sandboxed <iframe>
// (no scripts, an opaque origin) through srcdoc. A srcdoc document inherits
// this page's CSP (style-src 'self', img-src 'self' data:), so the message's
// own <style>, style="" attributes and remote images could not apply anyway
// and would only raise CSP reports: they are taken out first, and the
// preview says so. Links are kept as text (their URL in a tooltip): a click
// would otherwise navigate the frame to a site the CSP does not allow.
import { api } from './api.js';
import { can, setTitle } from './session.js';
import { h, clear, card, pageHeader, field, form, badge, button, linkButton, toast, confirm, loading, errorState, nextId, plural, progressBar, poller, fmtDate } from './ui.js';
import { allLists } from './view-lists.js';
import { stateBadge } from './view-campaigns.js';

const POLL_MS = 1000;
const EDITABLE = new Set(['draft', 'scheduled']);

// ---- merge tags, as the server's templates read them ----

const TAG = /\{\{\s*([a-z0-9_]+)\s*(?:\|\s*default:\s*(?:"([^"]*)"|'([^']*)')\s*)?\}\}/g;

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

// Renders `src` with `values` ({name: text}); html: values are HTML-escaped.
// A tag the values do not know stays as it is (the server refuses it on save).
export function renderTemplate(src, values, html) {
  return (src || '').replace(TAG, (whole, name, d1, d2) => {
    if (!Object.prototype.hasOwnProperty.call(values, name)) return whole;
    const v = values[name];
    const text = v === null || v === undefined || v === '' ? (d1 ?? d2 ?? '') : String(v);
    return html ? escapeHtml(text) : text;
  });
}

// Chromium checks a DOMParser document's style attributes and <style> elements
// against this page's CSP (and reports each one): they go before parsing.
function withoutInlineStyles(html) {
  let out = (html || '').replace(/<style\b[\s\S]*?<\/style\s*>/gi, '').replace(/<style\b[^>]*>/gi, '');
  let before;
  do {
    before = out;
    out = out.replace(/(<[^>]*?)\sstyle\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi, '$1');
  } while (out !== before);
  return out;
}

// The message HTML made safe and CSP-clean for the preview frame (see the top of this file).
function previewDocument(html) {
  const doc = new DOMParser().parseFromString(withoutInlineStyles(html), 'text/html');
  for (const el of doc.querySelectorAll('script, style, link, meta, base, iframe, frame, object, embed, form, noscript')) el.remove();
  for (const el of doc.querySelectorAll('*')) {
    for (const attr of [...el.attributes]) {
      const n = attr.name.toLowerCase();
      if (n.startsWith('on') || n === 'style' || n === 'srcset' || n === 'background' || n === 'class' || n === 'id') el.removeAttribute(attr.name);
    }
    if (el.tagName === 'IMG') {
      const src = el.getAttribute('src') || '';
      if (!src.startsWith('data:image/')) {
        const ph = doc.createElement('span');
        ph.className = 'pv-image';
        ph.textContent = `[image${el.getAttribute('alt') ? `: ${el.getAttribute('alt')}` : ''}]`;
        el.replaceWith(ph);
      }
    } else if (el.tagName === 'A' && el.hasAttribute('href')) {
      el.setAttribute('title', el.getAttribute('href'));
      el.removeAttribute('href');
      el.removeAttribute('target');
      el.className = 'pv-link';
    }
  }
  const link = doc.createElement('link');
  link.rel = 'stylesheet';
  link.href = '/style.css';
  doc.head.prepend(link);
  doc.body.className = 'pv-body';
  return `<!doctype html>${doc.documentElement.outerHTML}`;
}

function htmlToText(html) {
  const doc = new DOMParser().parseFromString(withoutInlineStyles(html), 'text/html');
  for (const el of doc.querySelectorAll('script, style')) el.remove();
  for (const br of doc.querySelectorAll('br')) br.replaceWith('\n');
  for (const p of doc.querySelectorAll('p, div, h1, h2, h3, h4, li, tr')) p.append('\n');
  return (doc.body ? doc.body.textContent : '').replace(/\n{3,}/g, '\n\n').trim();
}

// A template error names the part and the line ("html: line 3: unknown tag
// {{ frist_name }}"): that detail is what the writer needs, under the body.
// A missing relay is said in the UI's words, with where to set one.
function readable(err) {
  let text = null;
  if (err && ['html', 'text', 'subject'].includes(err.field) && err.detail) {
    text = err.detail.replace(/^(html|text|subject): /, '');
    text = text.charAt(0).toUpperCase() + text.slice(1);
  } else if (err && err.field === 'smtp') {
    text = 'No SMTP relay is set up for this account: set one in Sending settings first.';
  }
  if (!text) return err;
  const e = new Error(text);
  e.text = text;
  e.field = err.field;
  e.status = err.status;
  return e;
}

// ---- the screen ----

export async function render(container, params, ctx) {
  const isNew = !params.id;
  setTitle(isNew ? 'New campaign' : 'Campaign');
  clear(container).append(pageHeader(isNew ? 'New campaign' : 'Campaign'), loading());
  let campaign = null;
  let defs;
  let lists;
  try {
    [campaign, defs, lists] = await Promise.all([
      isNew ? null : api.get(`/campaigns/${encodeURIComponent(params.id)}`),
      api.get('/fields').then((p) => p.items),
      allLists(),
    ]);
  } catch (err) {
    clear(container).append(pageHeader('Campaign'), errorState(err, () => ctx.go(location.hash)));
    return undefined;
  }
  if (!ctx.isCurrent()) return undefined;
  const c = campaign || { name: '', subject: '', from: '', reply_to: '', list_ids: [], html: '', text: '', state: 'draft', rate_per_minute: 0 };
  if (!isNew) setTitle(c.name, 'Campaign');
  const editable = EDITABLE.has(c.state);
  const listsById = new Map(lists.map((l) => [l.id, l]));
  const stoppers = [];

  // -- the editor --
  const listsId = nextId('lists');
  const listBoxes = h('fieldset', { class: 'form-field check-list', 'data-field': 'list_ids', id: listsId, 'aria-describedby': `${listsId}-error` },
    h('legend', { text: 'Send to the lists' }),
    lists.length
      ? lists.map((l) => {
        const id = nextId('list');
        return h('div', { class: 'check-row' },
          h('input', { type: 'checkbox', id, value: l.id, class: 'list-choice', checked: c.list_ids.includes(l.id) }),
          h('label', { for: id }, l.name, h('span', { class: 'muted small', text: ` ${plural(l.member_count, 'member', 'members')}` })));
      })
      : h('p', { class: 'hint' }, 'No lists yet. ', h('a', { href: '#/lists', text: 'Create one' }), ' first.'),
    h('p', { class: 'field-error', id: `${listsId}-error`, role: 'alert', hidden: true }));

  const htmlField = field({
    label: 'HTML body', name: 'html', type: 'textarea', rows: 14, value: c.html,
    hint: 'The message as HTML. Links to http(s) addresses are counted when tracking is on.',
    attrs: { spellcheck: 'false', class: 'input-mono body-editor' },
  });
  const textField = field({
    label: 'Text body', name: 'text', type: 'textarea', rows: 8, value: c.text, optional: true,
    hint: 'For mail programs that show no HTML. Left empty, Postbode makes it from the HTML.',
    attrs: { class: 'input-mono body-editor' },
  });
  const subjectField = field({ label: 'Subject', name: 'subject', value: c.subject, attrs: { maxlength: '300', autocomplete: 'off' } });

  // Merge-tag help: chips insert a tag where the cursor was.
  let target = htmlField.querySelector('textarea');
  for (const el of [subjectField.querySelector('input'), htmlField.querySelector('textarea'), textField.querySelector('textarea')]) {
    el.addEventListener('focus', () => { target = el; });
  }
  const insertTag = (tag) => {
    if (!editable) return;
    const el = target;
    const start = el.selectionStart ?? el.value.length;
    const end = el.selectionEnd ?? el.value.length;
    el.setRangeText(tag, start, end, 'end');
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.focus();
  };
  const chip = (key, label) => h('li', {}, button(`{{ ${key} }}`, () => insertTag(`{{ ${key} }}`), 'secondary', {
    class: 'btn btn-secondary chip', title: label, 'aria-label': `Insert {{ ${key} }} (${label})`, 'data-tag': key, disabled: !editable,
  }));
  const help = h('aside', { class: 'merge-help', 'aria-labelledby': 'merge-help-title' },
    h('h3', { class: 'subhead', id: 'merge-help-title', text: 'Merge tags' }),
    h('p', { class: 'hint', text: 'Each recipient gets their own values. Click a tag to insert it where the cursor is.' }),
    h('ul', { class: 'chips', id: 'merge-tags' },
      chip('email', 'the address'),
      chip('unsubscribe_url', 'the one-click unsubscribe link'),
      defs.map((d) => chip(d.key, d.label + (d.sensitive ? ' (sensitive)' : '')))),
    h('p', { class: 'hint' }, 'A default for an empty value: ', h('code', { text: '{{ first_name | default: "there" }}' }), '.'),
    h('p', { class: 'hint' }, 'Give people a way out in every message: ', h('code', { text: '<a href="{{ unsubscribe_url }}">Unsubscribe</a>' }), '.'),
    defs.length ? null : h('p', { class: 'hint' }, h('a', { href: '#/fields', text: 'Add fields' }), ' to personalise with names and more.'));

  const editorFields = h('fieldset', { class: 'plain-fieldset', disabled: !editable },
    h('legend', { class: 'visually-hidden', text: 'The campaign' }),
    h('div', { class: 'form-grid' },
      field({ label: 'Name', name: 'name', value: c.name, hint: 'For you; recipients do not see it.', attrs: { maxlength: '100', autocomplete: 'off' } }),
      subjectField),
    h('div', { class: 'form-grid' },
      field({ label: 'From', name: 'from', value: c.from, hint: 'An address of your domain, or “Name <address>”.', attrs: { autocomplete: 'off', spellcheck: 'false' } }),
      field({ label: 'Reply to', name: 'reply_to', value: c.reply_to || '', optional: true, attrs: { autocomplete: 'off', spellcheck: 'false' } })),
    listBoxes,
    h('div', { class: 'editor-grid' }, h('div', { class: 'editor-main' }, htmlField, textField), help),
    field({ label: 'Sending speed (messages per minute)', name: 'rate_per_minute', type: 'number', value: String(c.rate_per_minute ?? 0), hint: '0: as fast as the relay allows.', attrs: { min: '0', max: '1000000', step: '1', class: 'input-short' } }));

  const editor = form({
    id: 'campaign-form',
    class: 'form-wide',
    submitLabel: isNew ? 'Save draft' : 'Save changes',
    secondary: linkButton('Back to campaigns', '#/campaigns'),
    fields: [editorFields],
    onSubmit: (el, v) => save(v).catch((err) => { throw readable(err); }),
  });
  async function save(v) {
    const body = {
      name: v.name.trim(), subject: v.subject, from: v.from.trim(), reply_to: v.reply_to.trim(),
      list_ids: [...listBoxes.querySelectorAll('.list-choice')].filter((x) => x.checked).map((x) => x.value),
      html: v.html, text: v.text,
      rate_per_minute: Number(v.rate_per_minute) || 0,
    };
    if (isNew) {
      if (!body.reply_to) delete body.reply_to;
      const created = await api.post('/campaigns', body);
      toast(`Campaign “${created.name}” saved as a draft.`);
      ctx.go(`#/campaigns/${encodeURIComponent(created.id)}`);
      return;
    }
    Object.assign(c, await api.patch(`/campaigns/${encodeURIComponent(c.id)}`, body));
    toast('Campaign saved.');
    setTitle(c.name, 'Campaign');
    const h1 = container.querySelector('.page-title');
    if (h1) h1.textContent = c.name;
    refreshPreview();
  }
  if (!editable) editor.querySelector('.form-actions button[type=submit]').hidden = true;

  // -- the preview --
  const previewId = nextId('preview');
  const contactSelect = h('select', { id: previewId, name: 'preview_contact' }, h('option', { value: '' }, 'Sample values (no contact)'));
  const frame = h('iframe', { class: 'mail-frame', sandbox: '', title: 'Preview of the HTML body', id: 'preview-frame', referrerpolicy: 'no-referrer' });
  const subjectLine = h('p', { class: 'preview-subject' });
  const textPreview = h('pre', { class: 'mail-text', id: 'preview-text' });
  // Sample values show where each value goes: [First name].
  const sample = () => {
    const values = { email: 'name@example.org', unsubscribe_url: `${location.origin}/u/preview` };
    for (const d of defs) values[d.key] = `[${d.label}]`;
    return values;
  };
  let previewValues = sample();
  const valuesFor = async (id) => {
    if (!id) return sample();
    const contact = await api.get(`/contacts/${encodeURIComponent(id)}`);
    const values = { email: contact.email || '', unsubscribe_url: `${location.origin}/u/preview` };
    for (const d of defs) values[d.key] = contact.fields && contact.fields[d.key] !== undefined && contact.fields[d.key] !== null ? String(contact.fields[d.key]) : '';
    return values;
  };
  function refreshPreview() {
    const f = editor;
    const subject = f.querySelector('input[name=subject]').value;
    const html = f.querySelector('textarea[name=html]').value;
    const text = f.querySelector('textarea[name=text]').value;
    clear(subjectLine).append(h('span', { class: 'muted', text: 'Subject: ' }), h('strong', { id: 'preview-subject', text: renderTemplate(subject, previewValues, false) || '(no subject)' }));
    frame.srcdoc = previewDocument(renderTemplate(html, previewValues, true));
    textPreview.textContent = text.trim() ? renderTemplate(text, previewValues, false) : renderTemplate(htmlToText(html), previewValues, false);
  }
  contactSelect.addEventListener('change', async () => {
    try {
      previewValues = await valuesFor(contactSelect.value);
    } catch (err) {
      toast(err.text || err.message, 'error');
    }
    refreshPreview();
  });
  let debounce = null;
  editor.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(refreshPreview, 250); });
  // Contacts to preview with: the first ones of the campaign's lists (or of the account).
  (async () => {
    try {
      const listId = c.list_ids[0] || '';
      const page = await api.get('/contacts', { list: listId, limit: 25 });
      for (const ct of page.items) if (ct.status !== 'erased') contactSelect.append(h('option', { value: ct.id }, ct.email));
    } catch { /* sample values only */ }
  })();
  const previewCard = card('Preview',
    h('div', { class: 'form-field preview-chooser' },
      h('label', { for: previewId, text: 'Show it as received by' }), contactSelect),
    subjectLine,
    h('div', { class: 'preview-tabs' },
      h('h3', { class: 'subhead', text: 'HTML' }),
      frame,
      h('p', { class: 'hint', text: 'Shown without the message’s own styles and remote images: this page’s security policy keeps them out. Send a test to see the message as a mail program shows it.' }),
      h('h3', { class: 'subhead', text: 'Text' }),
      textPreview));

  // -- test send --
  const testResults = h('div', { id: 'test-results', 'aria-live': 'polite' });
  const testForm = isNew ? null : form({
    id: 'test-form',
    class: 'form-inline',
    submitLabel: 'Send test',
    fields: [field({ label: 'Test addresses', name: 'emails', hint: 'Up to 10 addresses, separated by commas. Sent without a contact, so merge tags take their defaults; not counted in the statistics.', attrs: { autocomplete: 'off', spellcheck: 'false', placeholder: 'you@example.org' } })],
    onSubmit: async (el, v) => {
      const emails = v.emails.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);
      if (!emails.length) {
        const e = new Error('Give at least one address.');
        e.text = e.message;
        e.field = 'emails';
        throw e;
      }
      clear(testResults).append(loading('Sending…'));
      let r;
      try {
        r = await api.post(`/campaigns/${encodeURIComponent(c.id)}/test`, { emails });
      } catch (err) {
        clear(testResults);
        throw readable(err);
      }
      clear(testResults).append(h('ul', { class: 'result-list' }, r.results.map((x) => h('li', { 'data-sent': x.sent ? 'yes' : 'no' },
        badge(x.sent ? 'Sent' : 'Not sent', x.sent ? 'success' : 'danger'), ' ', h('span', { text: x.email }),
        x.error ? h('span', { class: 'muted small', text: ` — ${x.error}` }) : null))));
    },
  });

  // -- sending --
  const sendBox = h('div', { id: 'send-box' });
  const bar = progressBar('Delivery');
  const counts = h('p', { class: 'muted small', id: 'send-counts' });
  const header = pageHeader(isNew ? 'New campaign' : c.name, null,
    isNew ? null : stateBadge(c.state),
    !isNew && ['sending', 'paused', 'sent', 'cancelled'].includes(c.state) ? linkButton('Statistics', `#/campaigns/${encodeURIComponent(c.id)}/stats`, 'secondary', { id: 'stats-link' }) : null);

  const members = () => c.list_ids.reduce((n, id) => n + (listsById.get(id) ? listsById.get(id).member_count : 0), 0);
  async function control(action, question) {
    if (question && !(await confirm(question))) return;
    try {
      Object.assign(c, await api.post(`/campaigns/${encodeURIComponent(c.id)}/${action}`, {}));
      const resumed = c.state === 'scheduled' ? 'Resumed: it leaves at its scheduled time.' : 'Sending resumed.';
      toast({ pause: 'Sending paused.', resume: resumed, cancel: 'Campaign cancelled.' }[action]);
    } catch (err) {
      toast(err.text || err.message, 'error');
    }
    ctx.go(location.hash);
  }

  function drawSending(stats) {
    const state = stats ? stats.state : c.state;
    const header2 = container.querySelector('.page-actions .campaign-state');
    if (header2 && header2.dataset.state !== state) header2.replaceWith(stateBadge(state));
    if (stats) {
      const done = stats.sent + stats.failed + stats.bounced;
      bar.update(done, stats.recipients, stats.recipients
        ? `${done} of ${plural(stats.recipients, 'recipient', 'recipients')} handled`
        : (state === 'sending' ? 'Preparing the recipients…' : ''));
      counts.textContent = `Sent ${stats.sent} · deferred ${stats.deferred} · failed ${stats.failed} · bounced ${stats.bounced} · waiting ${stats.pending}`;
    }
    const controls = [];
    if (can('campaigns.send')) {
      if (state === 'sending' || state === 'scheduled') controls.push(button('Pause', () => control('pause', { title: 'Pause sending?', message: 'No more messages leave until you resume. Messages already sent stay sent.', confirmLabel: 'Pause', danger: false }), 'secondary', { id: 'pause' }));
      if (state === 'paused') controls.push(button('Resume', () => control('resume'), 'primary', { id: 'resume' }));
      if (['scheduled', 'sending', 'paused'].includes(state)) controls.push(button('Cancel campaign', () => control('cancel', { title: 'Cancel this campaign?', message: 'The messages not sent yet will never be sent. A cancelled campaign cannot be resumed.', confirmLabel: 'Cancel campaign' }), 'danger', { class: 'btn btn-danger-quiet', id: 'cancel' }));
    }
    clear(sendBox).append(
      h('p', { class: 'send-state' }, 'This campaign is ', stateBadge(state),
        c.scheduled_at && state === 'scheduled' ? ` — it leaves on ${fmtDate(c.scheduled_at)}.` : '',
        state === 'sent' && c.finished_at ? ` — finished ${fmtDate(c.finished_at)}.` : ''),
      c.error ? h('p', { class: 'notice notice-warning', text: c.error }) : null,
      state === 'scheduled' ? null : bar.element,
      state === 'scheduled' ? null : counts,
      controls.length ? h('div', { class: 'button-row' }, controls) : null);
    return state;
  }

  let sendCard = null;
  if (!isNew && c.state === 'draft' && can('campaigns.send')) {
    const whenName = nextId('when');
    const nowId = nextId('when');
    const laterId = nextId('when');
    const atId = nextId('at');
    const at = h('input', { type: 'datetime-local', id: atId, name: 'at', 'data-field': 'at', 'aria-describedby': `${atId}-error` });
    const atField = h('div', { class: 'form-field', hidden: true }, h('label', { for: atId, text: 'Date and time (your time zone)' }), at, h('p', { class: 'field-error', id: `${atId}-error`, role: 'alert', hidden: true }));
    const nowRadio = h('input', { type: 'radio', name: whenName, id: nowId, value: 'now', checked: true });
    const laterRadio = h('input', { type: 'radio', name: whenName, id: laterId, value: 'later' });
    const sync = () => { atField.hidden = !laterRadio.checked; };
    nowRadio.addEventListener('change', sync);
    laterRadio.addEventListener('change', sync);
    const sendForm = form({
      id: 'send-form',
      submitLabel: 'Send…',
      fields: [
        h('fieldset', { class: 'form-field radio-group', 'data-field': 'smtp', id: whenName, 'aria-describedby': `${whenName}-error` },
          h('legend', { text: 'When' }),
          h('div', { class: 'radio-row' }, nowRadio, h('label', { for: nowId, text: 'Now' })),
          h('div', { class: 'radio-row' }, laterRadio, h('label', { for: laterId, text: 'At a date and time' })),
          h('p', { class: 'field-error', id: `${whenName}-error`, role: 'alert', hidden: true })),
        atField,
        h('div', { 'data-field': 'list_ids', id: `${whenName}-lists` }, h('p', { class: 'field-error', id: `${whenName}-lists-error`, role: 'alert', hidden: true })),
      ],
      onSubmit: async () => {
        const body = {};
        if (laterRadio.checked) {
          const t = at.value ? new Date(at.value) : null;
          if (!t || Number.isNaN(t.getTime()) || t.getTime() <= Date.now()) {
            const e = new Error('Choose a date and time in the future.');
            e.text = e.message;
            e.field = 'at';
            throw e;
          }
          body.at = t.toISOString().replace(/\.\d{3}Z$/, 'Z');
        }
        const names = c.list_ids.map((id) => (listsById.get(id) ? `“${listsById.get(id).name}”` : id)).join(', ');
        const ok = await confirm({
          title: body.at ? 'Schedule this campaign?' : 'Send this campaign now?',
          message: `It goes to the subscribed members of ${names || 'no list'} (up to ${plural(members(), 'person', 'people')})${body.at ? `, on ${fmtDate(body.at)}` : ', starting now'}. Unsaved changes in the editor are not sent: save them first.`,
          confirmLabel: body.at ? 'Schedule' : 'Send now',
          danger: false,
        });
        if (!ok) return;
        const sent = await api.post(`/campaigns/${encodeURIComponent(c.id)}/send`, body).catch((err) => { throw readable(err); });
        toast(sent.state === 'scheduled' ? 'Campaign scheduled.' : 'Sending started.');
        ctx.go(location.hash);
      },
    });
    // The server's complaint about the relay ("smtp") shows in the "When" group; give it a way out.
    sendCard = card('Send', h('p', { class: 'card-intro', text: 'Save your changes first: what is saved is what is sent.' }), sendForm,
      can('settings.manage') ? h('p', { class: 'hint' }, 'Mail leaves through the SMTP relay of ', h('a', { href: '#/sending', text: 'Sending settings' }), '.') : null);
  } else if (!isNew && c.state === 'draft') {
    sendCard = card('Send', h('p', { class: 'muted', id: 'send-not-allowed', text: 'Your role prepares campaigns; an owner or admin sends them.' }));
  } else if (!isNew) {
    sendCard = card('Sending', sendBox);
    drawSending(null);
    const p = poller(async () => {
      const stats = await api.get(`/campaigns/${encodeURIComponent(c.id)}/stats`);
      if (!ctx.isCurrent()) return false;
      if (stats.state !== c.state) {
        try { Object.assign(c, await api.get(`/campaigns/${encodeURIComponent(c.id)}`)); } catch { /* drawn from the stats */ }
      }
      c.state = stats.state;
      const state = drawSending(stats);
      if (state === 'sent' || state === 'cancelled') {
        if (!container.querySelector('#stats-link')) {
          container.querySelector('.page-actions').append(linkButton('Statistics', `#/campaigns/${encodeURIComponent(c.id)}/stats`, 'secondary', { id: 'stats-link' }));
        }
        return false;
      }
      return true;
    }, POLL_MS);
    stoppers.push(() => p.stop());
  }

  let deleteButton = null;
  if (!isNew && !['sending', 'paused'].includes(c.state)) {
    deleteButton = button('Delete campaign', async () => {
      const ok = await confirm({ title: `Delete “${c.name}”?`, message: c.state === 'sent' ? 'The campaign and its statistics are removed. This cannot be undone.' : 'The campaign is removed. This cannot be undone.', confirmLabel: 'Delete campaign' });
      if (!ok) return;
      try {
        await api.del(`/campaigns/${encodeURIComponent(c.id)}`);
        toast(`Campaign “${c.name}” deleted.`);
        ctx.go('#/campaigns');
      } catch (err) {
        toast(err.text || err.message, 'error');
      }
    }, 'danger', { class: 'btn btn-danger-quiet btn-small', id: 'delete-campaign' });
  }

  clear(container).append(
    header,
    sendCard,
    card(editable ? 'Message' : 'Message (sent campaigns cannot be changed)', editor),
    previewCard,
    testForm ? card('Test send', testForm, testResults) : null,
    deleteButton ? h('div', { class: 'danger-zone' }, deleteButton) : null);
  refreshPreview();
  return () => { for (const s of stoppers) s(); };
}
