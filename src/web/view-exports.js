// Exports: the members of a list as a CSV or JSON download, streamed by the
// server (GET /lists/ID/export?format=) straight to a file: a plain link, so
// that a list of any size never sits in the page's memory.
import { setTitle } from './session.js';
import { h, clear, card, pageHeader, table, badge, loading, errorState, empty, linkButton, plural } from './ui.js';
import { allLists } from './view-lists.js';

function exportLink(list, format) {
  const href = `/api/v1/lists/${encodeURIComponent(list.id)}/export?format=${format}`;
  return h('a', {
    href, download: `list-${list.id}.${format}`, class: 'btn btn-secondary btn-small',
    'data-export': format, 'aria-label': `Download “${list.name}” as ${format.toUpperCase()}`,
  }, format.toUpperCase());
}

export async function render(container, params, ctx) {
  setTitle('Exports');
  const box = h('div', {}, loading('Loading the lists…'));
  clear(container).append(
    pageHeader('Exports', 'Download the members of a list, with their fields and consent statements.'),
    h('div', { class: 'notice' },
      h('p', { text: 'An export holds personal data: keep the file safe and delete it when you no longer need it. Every export is recorded in the audit log with your name.' })),
    card('Lists', box));
  let lists;
  try {
    lists = await allLists();
  } catch (err) {
    clear(box).append(errorState(err, () => render(container, params, ctx)));
    return;
  }
  if (!ctx.isCurrent()) return;
  if (!lists.length) {
    clear(box).append(empty('No lists yet', 'Create a list and add contacts to it first.', linkButton('Create a list', '#/lists', 'primary')));
    return;
  }
  clear(box).append(table([
    { label: 'List', render: (l) => h('span', { class: 'strong-link', text: l.name }) },
    { label: 'Type', render: (l) => (l.public ? badge('Public', 'public') : badge('Private', 'neutral')) },
    { label: 'Members', class: 'num', render: (l) => plural(l.member_count, 'member', 'members') },
    { label: 'Download', class: 'actions', render: (l) => h('div', { class: 'button-row' }, exportLink(l, 'csv'), exportLink(l, 'json')) },
  ], lists, { caption: 'Lists to export', rowAttrs: (l) => ({ 'data-list': l.name }) }));
}
