// The privacy centre (owners and admins): a person's whole history from the
// consent log (GET /consent?email=) as a timeline with the statements and
// their evidence images, the campaigns they received; the subject-access
// report as a file; erasure (POST /erasures) after typing the address, with
// its receipt; the receipts (GET /erasures); the log's verification.
import { api } from './api.js';
import { can, setTitle, basisLabel } from './session.js';
import { h, clear, card, pageHeader, field, form, table, badge, button, toast, dialog, loading, errorState, empty, definitionList, fmtDate, plural, saveBlob, blobToDataUrl, nextId } from './ui.js';
import { allLists } from './view-lists.js';
import { statusBadge } from './view-contacts.js';

const EVENT_LABELS = {
  added: 'Added to the account',
  subscribed: 'Subscribed',
  unsubscribed: 'Unsubscribed',
  pending: 'Subscription pending confirmation',
  confirmed: 'Subscription confirmed',
  field_changed: 'Fields changed',
  erased: 'Erased',
  bounced: 'Bounced',
};
const EVENT_KINDS = { subscribed: 'success', confirmed: 'success', added: 'neutral', unsubscribed: 'warning', erased: 'danger', bounced: 'danger', pending: 'warning' };
const CHANNELS = { ui: 'Web interface', api: 'REST API', cli: 'Command line', import: 'CSV import', form: 'Subscription form', system: 'Postbode (automatic)' };

// "user:ID" -> the user's address when known.
function actorText(actor, users) {
  if (!actor) return '—';
  const [kind, id] = actor.split(':');
  if (kind === 'user' && users.has(id)) return users.get(id);
  if (kind === 'user') return `User ${id}`;
  if (kind === 'api_key') return `API key ${id}`;
  if (actor === 'cli') return 'Command line';
  if (actor === 'system') return 'Postbode (automatic)';
  return actor;
}

async function loadUsers() {
  const users = new Map();
  if (!can('users.manage')) return users;
  try {
    let cursor = null;
    do {
      const page = await api.get('/users', { limit: 100, cursor });
      for (const u of page.items) users.set(u.id, u.email);
      cursor = page.next_cursor;
    } while (cursor);
  } catch { /* ids are shown instead */ }
  return users;
}

// ---- erasure: the confirmation, the receipt ----

function wipedText(wiped) {
  if (!wiped) return '—';
  const parts = [];
  if (wiped.address) parts.push('the address');
  if (wiped.field_values !== undefined) parts.push(plural(wiped.field_values, 'field value', 'field values'));
  if (wiped.evidence !== undefined) parts.push(plural(wiped.evidence, 'evidence image', 'evidence images'));
  if (wiped.event_personal_data !== undefined) parts.push(`personal data of ${plural(wiped.event_personal_data, 'log event', 'log events')}`);
  if (wiped.delivery_replies !== undefined) parts.push(plural(wiped.delivery_replies, 'mail server reply', 'mail server replies'));
  return parts.join(', ');
}

// The receipt of an erasure: what a privacy officer keeps as proof (no personal data in it).
export function receiptDetails(r, users = new Map()) {
  return h('div', { class: 'receipt', 'data-receipt': r.id },
    definitionList([
      ['Receipt', h('code', { class: 'receipt-id', text: r.id })],
      ['Erased at', fmtDate(r.erased_at)],
      ['Contact now known as', h('code', { class: 'receipt-pseudonym', text: r.pseudonym })],
      ['Erased by', actorText(r.actor, users)],
      ['Reason', r.reason === 'storage_limitation' ? 'Storage limitation (automatic)' : 'Request of the person'],
      ['Wiped', h('span', { class: 'receipt-wiped', text: wipedText(r.wiped) })],
    ]),
    h('p', { class: 'hint', text: 'Statistics, list sizes and campaign counts keep their numbers; the address stays on the suppression list (as a keyed hash) so that an import cannot bring the person back unnoticed.' }));
}

// Asks for the address to be typed again, then erases. Resolves with the receipt, or null.
export function confirmErasure(email) {
  const inputId = nextId('erase-confirm');
  const input = h('input', { type: 'text', id: inputId, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': `${inputId}-hint ${inputId}-error`, class: 'input-mono' });
  const errorBox = h('p', { class: 'field-error', id: `${inputId}-error`, role: 'alert', hidden: true });
  const body = h('div', {},
    h('p', {}, 'Everything Postbode holds about ', h('strong', { text: email }), ' is wiped for good: the address, every field value, evidence images used by nobody else, the personal data in the consent log and mail server replies.'),
    h('p', { text: 'The contact stays as an anonymous pseudonym, so that your statistics and list sizes do not change. This cannot be undone.' }),
    h('div', { class: 'form-field' },
      h('label', { for: inputId, text: 'Type the address to confirm' }),
      h('p', { class: 'hint', id: `${inputId}-hint`, text: email }),
      input, errorBox));
  return dialog({
    title: 'Erase this person?',
    body,
    actions: (close) => {
      const go = button('Erase permanently', async () => {
        errorBox.hidden = true;
        input.removeAttribute('aria-invalid');
        go.disabled = true;
        try {
          close(await api.post('/erasures', { email }));
        } catch (err) {
          errorBox.textContent = err.text || err.message;
          errorBox.hidden = false;
          input.setAttribute('aria-invalid', 'true');
          go.disabled = false;
        }
      }, 'danger', { disabled: true, 'data-confirm': 'erase' });
      input.addEventListener('input', () => {
        go.disabled = input.value.trim().toLowerCase() !== email.trim().toLowerCase();
      });
      setTimeout(() => input.focus(), 0);
      return [button('Cancel', () => close(null)), go];
    },
  });
}

// The receipt in a dialog (after an erasure started outside the privacy centre).
export function showReceipt(receipt) {
  return dialog({
    title: 'Erased: the receipt',
    body: receiptDetails(receipt),
    actions: (close) => [button('Done', () => close(true), 'primary')],
  });
}

// ---- the history ----

function evidenceThumb(ev) {
  const img = h('img', { class: 'thumb-img', alt: `Evidence image (${ev.type}, ${Math.max(1, Math.round(ev.size / 1024))} KB)` });
  const state = h('span', { class: 'thumb-state', text: 'Loading…' });
  const open = h('button', { type: 'button', class: 'thumb-open', 'aria-label': 'Show the evidence image larger', disabled: true }, img);
  const li = h('li', { class: 'thumb thumb-uploading', 'data-evidence-id': ev.id }, open,
    h('div', { class: 'thumb-meta' }, h('span', { class: 'thumb-name', text: ev.type.replace('image/', '').toUpperCase() }), state));
  api.blob(`/evidence/${encodeURIComponent(ev.id)}`).then(blobToDataUrl).then((url) => {
    img.src = url;
    li.className = 'thumb thumb-done';
    state.textContent = `SHA-256 ${ev.sha256.slice(0, 12)}…`;
    state.title = ev.sha256;
    open.disabled = false;
    open.addEventListener('click', () => dialog({
      title: 'Evidence image',
      body: h('div', {}, h('img', { class: 'evidence-large', src: url, alt: img.alt }), h('p', { class: 'hint' }, 'SHA-256 ', h('code', { class: 'small', text: ev.sha256 }))),
      actions: (close) => [button('Close', () => close(null), 'primary')],
    }));
  }).catch((err) => {
    li.className = 'thumb thumb-failed';
    state.textContent = err.status === 404 ? 'Removed' : 'Cannot be shown';
  });
  return li;
}

function statementBox(st) {
  if (!st) return null;
  return h('div', { class: 'statement', 'data-statement': st.id },
    h('p', { class: 'statement-head' }, badge(basisLabel(st.basis), 'public'), h('span', { class: 'muted small', text: ` Statement of ${fmtDate(st.created_at)}` })),
    h('p', { class: 'statement-text', text: st.description }),
    st.evidence && st.evidence.length ? h('ul', { class: 'thumbs', 'aria-label': 'Evidence images' }, st.evidence.map(evidenceThumb)) : null);
}

function timeline(history, listsById, users) {
  const events = [...history.events].sort((a, b) => (b.seq ?? 0) - (a.seq ?? 0));
  if (!events.length) return empty('No events', 'The consent log has nothing about this person.');
  return h('ol', { class: 'timeline', id: 'timeline' }, events.map((e) => {
    const list = e.list_id ? (listsById.get(e.list_id) ? listsById.get(e.list_id).name : e.list_id) : null;
    const st = e.statement_id ? history.statements[e.statement_id] : null;
    return h('li', { class: `timeline-item timeline-${e.type}`, 'data-type': e.type },
      h('span', { class: 'timeline-dot', 'aria-hidden': 'true' }),
      h('div', { class: 'timeline-body' },
        h('p', { class: 'timeline-head' },
          badge(EVENT_LABELS[e.type] || e.type.replace(/_/g, ' '), EVENT_KINDS[e.type] || 'neutral'),
          list ? h('span', { class: 'timeline-list', text: ` ${list}` }) : null,
          h('time', { class: 'timeline-date', datetime: e.at, text: fmtDate(e.at) })),
        h('p', { class: 'timeline-meta muted small' },
          `Via ${CHANNELS[e.channel] || e.channel || '—'} · by ${actorText(e.actor, users)}`,
          e.client_ip ? ` · IP ${e.client_ip}` : '',
          e.note ? ` · ${e.note}` : ''),
        statementBox(st)));
  }));
}

function campaignsTable(campaigns) {
  if (!campaigns.length) return h('p', { class: 'muted', text: 'No campaign was sent to this person.' });
  return table([
    { label: 'Campaign', render: (c) => (can('campaigns.write') ? h('a', { href: `#/campaigns/${encodeURIComponent(c.campaign_id)}`, class: 'strong-link', text: c.name }) : c.name) },
    { label: 'Delivery', render: (c) => badge(c.state, c.state === 'sent' ? 'success' : c.state === 'failed' || c.state === 'bounced' ? 'danger' : 'neutral') },
    { label: 'Sent', render: (c) => fmtDate(c.sent_at) },
    { label: 'Opens', class: 'num', render: (c) => String(c.opens) },
    { label: 'Clicks', class: 'num', render: (c) => String(c.clicks) },
    { label: 'Unsubscribed', render: (c) => (c.unsubscribed_at ? fmtDate(c.unsubscribed_at) : '—') },
  ], campaigns, { caption: 'Campaigns received', rowAttrs: (c) => ({ 'data-campaign': c.campaign_id }) });
}

// ---- the screen ----

export async function render(container, params, ctx) {
  setTitle('Privacy centre');
  const verifyBox = h('div', { id: 'verify' }, loading('Checking the consent log…'));
  const resultBox = h('div', { id: 'history', 'aria-live': 'polite' });
  const receiptsBox = h('div', { id: 'receipts' }, loading());
  const eraser = can('erasure.run');
  let users = new Map();
  let listsById = new Map();
  const ready = Promise.all([
    loadUsers().then((u) => { users = u; }),
    allLists().then((l) => { listsById = new Map(l.map((x) => [x.id, x])); }).catch(() => {}),
  ]);

  async function verify() {
    clear(verifyBox).append(loading('Checking the consent log…'));
    try {
      const v = await api.get('/consent/verify');
      clear(verifyBox).append(h('div', { class: `verify verify-${v.ok ? 'ok' : 'broken'}`, 'data-ok': v.ok ? 'yes' : 'no' },
        badge(v.ok ? 'Intact' : 'Broken', v.ok ? 'success' : 'danger'),
        h('p', { class: 'verify-text', text: v.ok
          ? `${plural(v.events, 'event', 'events')} checked: the hash chain of the consent log is unbroken, nothing was changed or removed.`
          : `The hash chain does not hold (${plural(v.events, 'event', 'events')} checked): ${v.problem || 'an event was changed or removed'}. Contact your operator.` }),
        button('Check again', verify, 'secondary', { class: 'btn btn-secondary btn-small' })));
    } catch (err) {
      clear(verifyBox).append(errorState(err, verify));
    }
  }

  const cursors = [null];
  let index = 0;
  async function receipts() {
    if (!eraser) return;
    clear(receiptsBox).append(loading());
    let page;
    try {
      page = await api.get('/erasures', { limit: 20, cursor: cursors[index] });
    } catch (err) {
      clear(receiptsBox).append(errorState(err, receipts));
      return;
    }
    if (page.next_cursor) cursors[index + 1] = page.next_cursor;
    if (!page.items.length && index === 0) {
      clear(receiptsBox).append(empty('No erasures yet', 'Receipts of erased people appear here. They hold no personal data.'));
      return;
    }
    clear(receiptsBox).append(
      table([
        { label: 'Erased at', render: (r) => fmtDate(r.erased_at) },
        { label: 'Receipt', render: (r) => h('code', { class: 'small', text: r.id }) },
        { label: 'Pseudonym', render: (r) => h('code', { class: 'small', text: r.pseudonym }) },
        { label: 'By', render: (r) => actorText(r.actor, users) },
        { label: 'Reason', render: (r) => (r.reason === 'storage_limitation' ? 'Storage limitation' : 'Request') },
        { label: 'Wiped', render: (r) => h('span', { class: 'muted small wrap', text: wipedText(r.wiped) }) },
      ], page.items, { caption: 'Erasure receipts', rowAttrs: (r) => ({ 'data-receipt': r.id }) }),
      h('div', { class: 'pager' },
        button('Newer', () => { index -= 1; receipts(); }, 'secondary', { disabled: index === 0 }),
        h('span', { class: 'muted', text: `Page ${index + 1}` }),
        button('Older', () => { index += 1; receipts(); }, 'secondary', { disabled: !page.next_cursor })));
  }

  async function showHistory(email) {
    clear(resultBox).append(loading('Reading the consent log…'));
    let history;
    try {
      [history] = await Promise.all([api.get('/consent', { email }), ready]);
    } catch (err) {
      clear(resultBox);
      throw err;
    }
    if (!history.found) {
      clear(resultBox).append(card(null, h('div', { class: 'state state-empty', id: 'not-found' },
        h('p', { class: 'state-title', text: 'No one with this address' }),
        h('p', { class: 'state-text', text: `Postbode holds nothing under ${email}. An erased person cannot be found by their address any more: their receipt is listed below.` }))));
      return;
    }
    const c = history.contact;
    const actions = [
      button('Download subject-access report', async (e) => {
        const b = e.currentTarget;
        b.disabled = true;
        try {
          const blob = await api.blob('/subject-access', { email });
          saveBlob(blob, `subject-access-${email.replace(/[^A-Za-z0-9@._-]+/g, '_')}.json`);
          toast('The subject-access report is downloaded: keep it safe, it holds all their personal data.');
        } catch (err) {
          toast(err.text || err.message, 'error');
        } finally { b.disabled = false; }
      }, 'secondary', { id: 'subject-access' }),
      eraser && c.status !== 'erased' ? button('Erase this person…', async () => {
        const receipt = await confirmErasure(email);
        if (!receipt) return;
        toast('Erased. The receipt is below.');
        clear(resultBox).append(card('Erasure receipt', h('div', { class: 'notice notice-success', role: 'status', id: 'erasure-done' },
          h('p', { text: `${email} is erased.` })), receiptDetails(receipt, users)));
        index = 0;
        receipts();
        verify();
      }, 'danger', { id: 'erase' }) : null,
    ];
    const memberships = (c.lists || []).map((m) => h('li', {},
      listsById.get(m.list_id) ? listsById.get(m.list_id).name : m.list_id, ' ', statusBadge(m.status)));
    clear(resultBox).append(
      card(null,
        h('div', { class: 'person-head' },
          h('div', {},
            h('h2', { class: 'card-title person-email', text: c.email || '(erased)' }),
            h('p', { class: 'muted small' }, statusBadge(c.status), ` In the account since ${fmtDate(c.created_at)} · `, h('a', { href: `#/contacts/${encodeURIComponent(c.id)}`, text: 'Contact page' }))),
          h('div', { class: 'button-row' }, actions)),
        memberships.length ? h('ul', { class: 'inline-list', 'aria-label': 'Lists' }, memberships) : h('p', { class: 'muted', text: 'On no list.' })),
      card('History', h('p', { class: 'card-intro', text: 'Every event of the consent log about this person, newest first, with the statement of how the address was obtained.' }), timeline(history, listsById, users)),
      card('Campaigns received', campaignsTable(history.campaigns || [])));
  }

  const search = form({
    id: 'privacy-search',
    class: 'form-inline form-search',
    submitLabel: 'Search',
    fields: [field({ label: 'Email address', name: 'email', type: 'email', hint: 'The exact address a person asks about.', attrs: { autocomplete: 'off', spellcheck: 'false', placeholder: 'name@example.org' } })],
    onSubmit: async (el, values) => {
      const email = values.email.trim();
      if (!email) {
        const e = new Error('Type the whole address: the search is exact.');
        e.text = e.message;
        e.field = 'email';
        throw e;
      }
      await showHistory(email);
    },
  });

  clear(container).append(
    pageHeader('Privacy centre', 'Answer the questions people have about their data: what you hold, since when, on what basis, and erase it on request.'),
    card('Consent log', verifyBox),
    card('Find a person', search),
    resultBox,
    eraser ? card('Erasure receipts', receiptsBox) : null);
  verify();
  receipts();

  // #/privacy?contact=ID (from a contact's page): that person's history at once.
  const contactId = params.query.get('contact');
  if (contactId) {
    try {
      const contact = await api.get(`/contacts/${encodeURIComponent(contactId)}`);
      if (ctx.isCurrent() && contact.email) {
        search.querySelector('input[name=email]').value = contact.email;
        await showHistory(contact.email);
      }
    } catch (err) {
      if (ctx.isCurrent()) clear(resultBox).append(errorState(err));
    }
  }
}
