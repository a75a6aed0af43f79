// Campaigns: the list, newest first, with their state and progress. Authors
// may write campaigns; sending needs campaigns.send (owners and admins).
import { api } from './api.js';
import { setTitle } from './session.js';
import { h, clear, card, pageHeader, table, badge, button, linkButton, loading, errorState, empty, fmtDate } from './ui.js';
import { allLists } from './view-lists.js';

const STATES = {
  draft: ['Draft', 'neutral'],
  scheduled: ['Scheduled', 'warning'],
  sending: ['Sending', 'warning'],
  paused: ['Paused', 'warning'],
  sent: ['Sent', 'success'],
  cancelled: ['Cancelled', 'neutral'],
  failed: ['Failed', 'danger'],
};

export function stateBadge(state) {
  const [label, kind] = STATES[state] || [state, 'neutral'];
  const b = badge(label, kind);
  b.classList.add('campaign-state');
  b.dataset.state = state;
  return b;
}

const PAGE = 50;

export async function render(container, params, ctx) {
  setTitle('Campaigns');
  const box = h('div', {}, loading('Loading campaigns…'));
  clear(container).append(
    pageHeader('Campaigns', 'Mail to your lists, written with merge tags and sent through your SMTP relay.',
      linkButton('New campaign', '#/campaigns/new', 'primary', { id: 'new-campaign' })),
    card(null, box));
  let lists = new Map();
  allLists().then((l) => { lists = new Map(l.map((x) => [x.id, x.name])); }).catch(() => {});

  const rows = [];
  let cursor = null;
  async function more(first) {
    let page;
    try {
      page = await api.get('/campaigns', { limit: PAGE, cursor });
    } catch (err) {
      clear(box).append(errorState(err, () => { rows.length = 0; cursor = null; more(true); }));
      return;
    }
    if (!ctx.isCurrent()) return;
    rows.push(...page.items);
    cursor = page.next_cursor;
    if (first && !rows.length) {
      clear(box).append(empty('No campaigns yet', 'Write your first campaign: a subject, a message with merge tags, the lists it goes to.',
        linkButton('New campaign', '#/campaigns/new', 'primary')));
      return;
    }
    clear(box).append(
      table([
        {
          label: 'Campaign',
          render: (c) => h('div', {},
            h('a', { href: `#/campaigns/${encodeURIComponent(c.id)}`, class: 'strong-link', text: c.name }),
            h('p', { class: 'muted small', text: c.subject })),
        },
        { label: 'State', render: (c) => stateBadge(c.state) },
        { label: 'Lists', render: (c) => h('span', { class: 'small', text: c.list_ids.map((id) => lists.get(id) || '…').join(', ') || '—' }) },
        {
          label: 'Sent', class: 'num',
          render: (c) => (c.progress && c.progress.recipients ? `${c.progress.sent} / ${c.progress.recipients}` : '—'),
        },
        { label: 'When', render: (c) => fmtDate(c.finished_at || c.started_at || c.scheduled_at || c.updated_at) },
        {
          label: 'Statistics', class: 'actions',
          render: (c) => (['sending', 'paused', 'sent', 'cancelled'].includes(c.state)
            ? linkButton('Statistics', `#/campaigns/${encodeURIComponent(c.id)}/stats`, 'secondary', { class: 'btn btn-secondary btn-small' })
            : null),
        },
      ], rows, { caption: 'Campaigns', rowAttrs: (c) => ({ 'data-campaign': c.name }) }),
      cursor ? h('div', { class: 'pager' }, button('Load more', async (e) => { e.target.disabled = true; await more(false); })) : null);
  }
  await more(true);
}
