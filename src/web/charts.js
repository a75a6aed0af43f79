// Charts as inline SVG, built with DOM APIs: no style attributes (the CSP
// forbids them), colours and type come from classes of style.css. Each
// chart is a <figure> with a caption, and an accessible name listing its
// numbers for screen readers.
const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function figure(caption, svg, id) {
  const fig = document.createElement('figure');
  fig.className = 'chart';
  if (id) fig.id = id;
  const cap = document.createElement('figcaption');
  cap.className = 'chart-caption';
  cap.textContent = caption;
  fig.append(svg, cap);
  return fig;
}

// Phones get a narrower drawing, so that its text stays readable when scaled to the screen.
function narrow() {
  return window.matchMedia('(max-width: 40rem)').matches;
}

function short(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// Horizontal bars: items [{label, value, kind, note?}], scaled to `max` (default: the largest).
export function barChart({ caption, items, max, id, labelWidth: wide = 170 }) {
  const width = narrow() ? 340 : 640;
  const labelWidth = narrow() ? Math.min(wide, 120) : wide;
  const row = 34;
  const top = 6;
  const height = top * 2 + items.length * row;
  const scale = Math.max(max ?? 0, ...items.map((i) => i.value), 1);
  const barSpace = width - labelWidth - 70;
  const summary = items.map((i) => `${i.label}: ${i.value}`).join(', ');
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart-svg', role: 'img', 'aria-label': `${caption}. ${summary}`, preserveAspectRatio: 'xMinYMin meet' },
    s('title', {}, `${caption}: ${summary}`),
    items.map((item, i) => {
      const y = top + i * row;
      const w = item.value > 0 ? Math.max(2, Math.round((item.value / scale) * barSpace)) : 0;
      return s('g', { class: 'chart-row', 'data-label': item.label, 'data-value': item.value },
        s('title', {}, item.note ? `${item.label}: ${item.value} (${item.note})` : `${item.label}: ${item.value}`),
        s('text', { x: labelWidth - 10, y: y + row / 2, class: 'chart-label', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, short(item.label, Math.floor(labelWidth / 7.5))),
        s('rect', { x: labelWidth, y: y + 7, width: barSpace, height: row - 14, rx: 4, class: 'bar-track' }),
        s('rect', { x: labelWidth, y: y + 7, width: w, height: row - 14, rx: 4, class: `bar bar-${item.kind || 'neutral'}` }),
        s('text', { x: labelWidth + w + 8, y: y + row / 2, class: 'chart-value', 'dominant-baseline': 'middle' }, String(item.value)));
    }));
  return figure(caption, svg, id);
}

// One stacked bar of parts of a whole (e.g. what became of every recipient), with a legend.
export function stackedBar({ caption, parts, total, id }) {
  const width = narrow() ? 340 : 640;
  const sum = Math.max(total ?? 0, parts.reduce((n, p) => n + p.value, 0), 1);
  const barH = 28;
  const legendRow = 22;
  const perRow = narrow() ? 2 : 3;
  const legendRows = Math.ceil(parts.length / perRow);
  const height = barH + 12 + legendRows * legendRow;
  let x = 0;
  const summary = parts.map((p) => `${p.label}: ${p.value}`).join(', ');
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart-svg', role: 'img', 'aria-label': `${caption}. ${summary}`, preserveAspectRatio: 'xMinYMin meet' },
    s('title', {}, `${caption}: ${summary}`),
    s('rect', { x: 0, y: 0, width, height: barH, rx: 6, class: 'bar-track' }),
    parts.map((p) => {
      const w = p.value > 0 ? Math.max(2, (p.value / sum) * width) : 0;
      const seg = s('rect', { x: x.toFixed(1), y: 0, width: w.toFixed(1), height: barH, class: `bar bar-${p.kind}`, 'data-label': p.label, 'data-value': p.value },
        s('title', {}, `${p.label}: ${p.value}`));
      x += w;
      return seg;
    }),
    parts.map((p, i) => {
      const lx = (i % perRow) * (width / perRow);
      const ly = barH + 12 + Math.floor(i / perRow) * legendRow;
      return s('g', { class: 'chart-legend' },
        s('rect', { x: lx, y: ly, width: 12, height: 12, rx: 2, class: `bar bar-${p.kind}` }),
        s('text', { x: lx + 18, y: ly + 6, class: 'chart-label', 'dominant-baseline': 'middle' }, `${p.label}: ${p.value}`));
    }));
  return figure(caption, svg, id);
}

// Vertical bars over time: values[i] for the bucket starting at start + i*bucketSeconds.
// The axis names the first and last bucket; each bar's title gives its time and count.
export function columnChart({ caption, start, bucketSeconds, values, id, kind = 'ok' }) {
  const width = narrow() ? 340 : 640;
  const height = 180;
  const axis = 22;
  const top = 8;
  const plot = height - axis - top;
  const scale = Math.max(...values, 1);
  // At least 12 slots, so that a short send is a bar, not a wall.
  const slot = width / Math.max(values.length, 12);
  const gap = slot > 6 ? Math.min(4, slot / 4) : 0;
  const t0 = new Date(start).getTime();
  const at = (i) => new Date(t0 + i * bucketSeconds * 1000);
  const fmt = (d) => d.toLocaleString(undefined, bucketSeconds >= 86400
    ? { month: 'short', day: 'numeric' }
    : { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  const total = values.reduce((n, v) => n + v, 0);
  const summary = `${total} in ${values.length} periods of ${Math.round(bucketSeconds / 60)} minutes from ${fmt(at(0))}`;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart-svg', role: 'img', 'aria-label': `${caption}. ${summary}`, preserveAspectRatio: 'xMinYMin meet' },
    s('title', {}, `${caption}: ${summary}`),
    s('line', { x1: 0, y1: top + plot, x2: width, y2: top + plot, class: 'chart-axis' }),
    values.map((v, i) => {
      const barH = v > 0 ? Math.max(2, (v / scale) * plot) : 0;
      return s('rect', { x: (i * slot + gap / 2).toFixed(1), y: (top + plot - barH).toFixed(1), width: Math.max(1, slot - gap).toFixed(1), height: barH.toFixed(1), rx: 2, class: `bar bar-${kind}`, 'data-value': v },
        s('title', {}, `${fmt(at(i))}: ${v}`));
    }),
    s('text', { x: 0, y: height - 6, class: 'chart-label' }, fmt(at(0))),
    values.length > 1 ? s('text', { x: width, y: height - 6, class: 'chart-label', 'text-anchor': 'end' }, fmt(at(values.length - 1))) : null,
    s('text', { x: width, y: top + 10, class: 'chart-value', 'text-anchor': 'end' }, `max ${scale}`));
  return figure(caption, svg, id);
}
