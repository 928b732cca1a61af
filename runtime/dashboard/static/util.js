// Small DOM and formatting helpers. Everything from the server is put in
// the page as text (textContent), never parsed as HTML.

// el builds an element: el('td', {class: 'x', onclick: f}, 'text', child…).
export function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else if (k === 'class') n.className = v;
    else if (k === 'style') Object.assign(n.style, v);
    else if (k === 'dataset') Object.assign(n.dataset, v);
    else n.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return n;
}

// duration formats milliseconds as 1h02m03s, 2m05s or 4.2s.
export function duration(ms) {
  if (!(ms >= 0)) return '–';
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + 's';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = Math.floor(s % 60);
  const pad = (x) => String(x).padStart(2, '0');
  return h > 0 ? `${h}h${pad(m)}m${pad(r)}s` : `${m}m${pad(r)}s`;
}

export function ms(v) { return v === undefined || v === null ? '–' : Math.round(v) + ' ms'; }

export function time(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return isNaN(d) ? '–' : d.toLocaleTimeString([], {hour12: false}) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

export function dateTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return isNaN(d) ? '–' : d.toLocaleString([], {hour12: false});
}

// badge is a coloured label for a state, outcome or circuit.
export function badge(text, kind = text) {
  return el('span', {class: 'badge b-' + String(kind).replace(/[^a-z0-9_-]/gi, '')}, text);
}

export function callLink(id) {
  return el('a', {href: '#/call/' + encodeURIComponent(id), class: 'mono'}, id);
}

export function notice(text, kind = 'info') {
  return el('p', {class: 'notice ' + kind}, text);
}
