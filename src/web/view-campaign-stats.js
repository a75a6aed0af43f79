// A campaign's statistics (GET /campaigns/ID/stats and /timeline): delivery,
// messages sent over time, opens and clicks, top links, unsubscribes, drawn
// as inline SVG charts; refreshed while the campaign is being sent.
import { api } from './api.js';
import { setTitle } from './session.js';
import { h, clear, card, pageHeader, table, linkButton, loading, errorState, poller, plural } from './ui.js';
import { barChart, stackedBar, columnChart } from './charts.js';
import { stateBadge } from './view-campaigns.js';

const POLL_MS = 2000;
// The counters are cheap to read; the timeline scans the campaign's sent
// recipients, so while sending it is read again only this often (and once
// more whenever the state changes, so the final chart is complete).
const TIMELINE_MS = 10000;

function pct(part, whole) {
  if (!whole) return '—';
  const p = (100 * part) / whole;
  return `${p < 10 && p > 0 ? p.toFixed(1) : Math.round(p)}%`;
}

function figureBox(key, label, value, sub) {
  return h('div', { class: `stat stat-${key}`, 'data-stat': key },
    h('dt', { class: 'stat-label', text: label }),
    h('dd', { class: 'stat-value', text: value === null || value === undefined ? '—' : String(value) }),
    sub ? h('dd', { class: 'stat-help', text: sub }) : null);
}

function draw(box, s, timeline) {
  const handled = s.sent + s.failed + s.bounced;
  const trackingOff = s.tracking === 'off';
  const uniqueKnown = s.unique_opens !== null && s.unique_opens !== undefined;
  const links = [...(s.links || [])].sort((a, b) => b.clicks_total - a.clicks_total || a.n - b.n);

  const key = h('dl', { class: 'stat-grid', id: 'key-figures' },
    figureBox('recipients', 'Recipients', s.recipients, s.pending ? `${s.pending} waiting` : 'all handled'),
    figureBox('sent', 'Sent', s.sent, `${pct(s.sent, s.recipients)} of recipients`),
    figureBox('failed', 'Failed or bounced', s.failed + s.bounced, `${s.failed} failed · ${s.bounced} bounced`),
    figureBox('opens', 'Opens', trackingOff ? null : s.opens, trackingOff ? 'tracking is off' : (uniqueKnown ? `${s.unique_opens} people · ${pct(s.unique_opens, s.sent)}` : 'total')),
    figureBox('clicks', 'Clicks', trackingOff ? null : s.clicks, trackingOff ? 'tracking is off' : (s.unique_clicks !== null && s.unique_clicks !== undefined ? `${s.unique_clicks} people · ${pct(s.unique_clicks, s.sent)}` : 'total')),
    figureBox('unsubscribes', 'Unsubscribes', s.unsubscribes, `${pct(s.unsubscribes, s.sent)} of sent`));

  const delivery = card('Delivery',
    stackedBar({
      caption: `What became of the ${plural(s.recipients, 'recipient', 'recipients')}`,
      id: 'chart-outcome',
      total: s.recipients,
      parts: [
        { label: 'Sent', value: s.sent, kind: 'ok' },
        { label: 'Deferred', value: s.deferred, kind: 'warn' },
        { label: 'Failed', value: s.failed, kind: 'danger' },
        { label: 'Bounced', value: s.bounced, kind: 'bounce' },
        { label: 'Waiting', value: s.pending, kind: 'neutral' },
      ],
    }),
    barChart({
      caption: 'Delivery, message by message',
      id: 'chart-delivery',
      max: s.recipients,
      items: [
        { label: 'Sent', value: s.sent, kind: 'ok' },
        { label: 'Deferred (retrying)', value: s.deferred, kind: 'warn' },
        { label: 'Failed', value: s.failed, kind: 'danger' },
        { label: 'Bounced', value: s.bounced, kind: 'bounce' },
      ],
    }),
    timeline && timeline.start && timeline.sent.length
      ? columnChart({
        caption: `Messages sent over time (per ${timeline.bucket_seconds >= 3600 ? `${timeline.bucket_seconds / 3600} h` : `${timeline.bucket_seconds / 60} min`})`,
        id: 'chart-timeline',
        start: timeline.start,
        bucketSeconds: timeline.bucket_seconds,
        values: timeline.sent,
      })
      : h('p', { class: 'hint', text: 'Nothing has been sent yet.' }),
    h('p', { class: 'hint', text: `${handled} of ${s.recipients} recipients handled so far.` }),
    s.uncertain ? h('p', { class: 'notice notice-warning', text: `${plural(s.uncertain, 'message was', 'messages were')} being sent when a worker stopped: whether the relay received ${s.uncertain === 1 ? 'it' : 'them'} is uncertain.` }) : null);

  let engagementBody;
  if (trackingOff) {
    engagementBody = h('p', { class: 'notice', text: 'Open and click tracking is off for this account: nothing is recorded. Owners can change it in Settings.' });
  } else {
    engagementBody = h('div', {},
      barChart({
        caption: 'Opens and clicks',
        id: 'chart-engagement',
        items: [
          { label: 'Opens', value: s.opens, kind: 'accent' },
          { label: 'Unique opens', value: uniqueKnown ? s.unique_opens : 0, kind: 'accent-soft', note: uniqueKnown ? null : 'not recorded' },
          { label: 'Clicks', value: s.clicks, kind: 'info' },
          { label: 'Unique clicks', value: s.unique_clicks ?? 0, kind: 'info-soft', note: s.unique_clicks === null ? 'not recorded' : null },
        ],
      }),
      uniqueKnown ? null : h('p', { class: 'hint', text: 'Unique opens and clicks (how many people) need individual tracking; with aggregate tracking only totals are kept.' }),
      h('p', { class: 'hint', text: 'Opens are counted when a mail program loads images: many block them, so the real number is higher.' }));
  }

  const linksBody = links.length
    ? h('div', {},
      barChart({
        caption: 'Top links by clicks',
        id: 'chart-links',
        labelWidth: 250,
        items: links.slice(0, 10).map((l) => ({ label: l.url.replace(/^https?:\/\//, ''), value: l.clicks_total, kind: 'info' })),
      }),
      table([
        { label: 'Link', render: (l) => h('span', { class: 'wrap small', text: l.url }) },
        { label: 'Clicks', class: 'num', render: (l) => String(l.clicks_total) },
        { label: 'People', class: 'num', render: (l) => (s.unique_clicks === null ? '—' : String(l.clicks_unique)) },
      ], links, { caption: 'Links' }))
    : h('p', { class: 'muted', text: 'The message has no tracked links.' });

  clear(box).append(
    key,
    delivery,
    card('Opens and clicks', engagementBody),
    card('Top links', linksBody),
    card('Unsubscribes', h('p', { class: 'big-number', id: 'unsubscribes' }, h('strong', { text: String(s.unsubscribes) }), h('span', { class: 'muted', text: ` ${s.unsubscribes === 1 ? 'person' : 'people'} unsubscribed through this campaign (${pct(s.unsubscribes, s.sent)} of those who received it).` }))));
}

export async function render(container, params, ctx) {
  setTitle('Statistics');
  const id = params.id;
  clear(container).append(pageHeader('Statistics'), loading());
  let c;
  try {
    c = await api.get(`/campaigns/${encodeURIComponent(id)}`);
  } catch (err) {
    clear(container).append(pageHeader('Statistics'), errorState(err, () => ctx.go(location.hash)));
    return undefined;
  }
  if (!ctx.isCurrent()) return undefined;
  setTitle(c.name, 'Statistics');
  const stateBox = h('span', {}, stateBadge(c.state));
  const box = h('div', { id: 'stats' }, loading('Loading the statistics…'));
  clear(container).append(
    pageHeader(`Statistics: ${c.name}`, c.subject, stateBox, linkButton('Campaign', `#/campaigns/${encodeURIComponent(id)}`, 'secondary')),
    box);
  let timeline = null;
  let timelineAt = 0;
  let timelineState = null;
  const p = poller(async () => {
    let s;
    try {
      s = await api.get(`/campaigns/${encodeURIComponent(id)}/stats`);
      if (!timeline || s.state !== timelineState || Date.now() - timelineAt >= TIMELINE_MS) {
        timeline = await api.get(`/campaigns/${encodeURIComponent(id)}/timeline`);
        timelineAt = Date.now();
        timelineState = s.state;
      }
    } catch (err) {
      if (ctx.isCurrent()) clear(box).append(errorState(err, () => ctx.go(location.hash)));
      return false;
    }
    if (!ctx.isCurrent()) return false;
    clear(stateBox).append(stateBadge(s.state));
    draw(box, s, timeline);
    return s.state === 'sending' || s.state === 'scheduled' || s.state === 'paused';
  }, POLL_MS);
  return () => p.stop();
}
