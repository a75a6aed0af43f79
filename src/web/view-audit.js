// The audit log (owners): who did what, newest first, page by page.
import { api } from './api.js';
import { setTitle } from './session.js';
import { h, clear, card, pageHeader, table, button, loading, errorState, empty, fmtDate } from './ui.js';

const PAGE = 50;

// "key: value, …"; a user id is shown as the user's address when known.
function detailText(detail, users) {
  if (!detail || typeof detail !== 'object') return '';
  return Object.entries(detail).map(([k, v]) => {
    if (k === 'user_id' && users.has(v)) return `user: ${users.get(v)}`;
    return `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`;
  }).join(', ');
}

export async function render(container) {
  setTitle('Audit log');
  const box = h('div', {});
  clear(container).append(
    pageHeader('Audit log', 'Sensitive actions in this account: sign-ins, settings, users, exports and erasures.'),
    card(null, box));
  const users = new Map();
  try {
    let cursor = null;
    do {
      const page = await api.get('/users', { limit: 100, cursor });
      for (const u of page.items) users.set(u.id, u.email);
      cursor = page.next_cursor;
    } while (cursor);
  } catch { /* names are a convenience: ids are shown instead */ }

  // cursors[i] is the cursor of page i (null for the first).
  const cursors = [null];
  let index = 0;
  async function show() {
    clear(box).append(loading());
    let page;
    try {
      page = await api.get('/audit', { limit: PAGE, cursor: cursors[index] });
    } catch (err) {
      clear(box).append(errorState(err, show));
      return;
    }
    if (page.next_cursor) cursors[index + 1] = page.next_cursor;
    if (!page.items.length) {
      clear(box).append(empty('Nothing recorded yet', 'Actions appear here as people use the account.'));
      return;
    }
    clear(box).append(
      table([
        { label: 'When', render: (e) => fmtDate(e.at) },
        { label: 'Who', render: (e) => (e.actor_user_id ? users.get(e.actor_user_id) || e.actor_user_id : 'System') },
        { label: 'Action', render: (e) => h('code', { text: e.action }) },
        { label: 'Details', render: (e) => h('span', { class: 'muted wrap', text: detailText(e.detail, users) }) },
        { label: 'IP address', render: (e) => e.client_ip || '—' },
      ], page.items, { caption: 'Audit log' }),
      h('div', { class: 'pager' },
        button('Newer', () => { index -= 1; show(); }, 'secondary', { disabled: index === 0 }),
        h('span', { class: 'muted', text: `Page ${index + 1}` }),
        button('Older', () => { index += 1; show(); }, 'secondary', { disabled: !page.next_cursor })));
  }
  await show();
}
