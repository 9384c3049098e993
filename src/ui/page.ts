// The status page: one self-contained HTML document (inline CSS and script, no external asset, no framework).
// Live (`serve --ui-listen`) it polls /ui/api/status every 2 s; offline (`inspect-receipt --html`) the data is
// inlined. The filter and the sort are kept in the URL. States read as text and symbol, not colour alone.

import type { StoreView } from './content.js';

/** PageData is what the page shows: the overview rows and each cluster's groups. */
export interface PageData {
  title: string;
  generatedAt: string;
  /** True on `serve`: objects, images and the store page are read from the store on request. */
  live?: boolean;
  /** The store page inlined (offline, from a receipt: its imports). */
  store?: StoreView;
  overview: unknown[];
  clusters: Record<string, unknown>;
}

/** statusPage renders the page; `data` inlines the views (offline), else the page fetches them. */
export function statusPage(opts: { data?: PageData; pollMs?: number } = {}): string {
  // JSON inside a script element: `<` escaped so no text can close the element.
  const inline = opts.data ? JSON.stringify(opts.data).replace(/</g, '\\u003c') : 'null';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sveltos air-gap site status</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; background: #fff; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.15rem; margin-top: 1.5rem; }
table { border-collapse: collapse; width: 100%; } caption { text-align: left; font-weight: 600; padding: .4rem 0; }
th, td { border: 1px solid #bbb; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; }
button:focus, a:focus, select:focus, input:focus { outline: 3px solid #1a56db; outline-offset: 2px; }
.Failed { background: #fde2e2; font-weight: 700; } .Provisioned { background: #e3f5e3; } .Provisioning { background: #fff4d6; } .Removing { background: #e8e8f8; }
.stale { font-weight: 700; text-decoration: underline dotted; }
.controls { display: flex; gap: 1rem; margin: .75rem 0; flex-wrap: wrap; } label { font-weight: 600; margin-right: .3rem; }
.muted { color: #555; } svg { vertical-align: middle; }
nav a { margin-right: 1rem; font-weight: 600; } nav a[aria-current="page"] { text-decoration: none; color: #1b1b1b; }
details { margin: .4rem 0; } summary { cursor: pointer; font-weight: 600; } pre { background: #f4f4f4; padding: .5rem; overflow: auto; max-height: 24rem; }
.objbtn { font: inherit; padding: 0 .3rem; margin-left: .4rem; } code { font-size: 90%; }
</style>
</head>
<body>
<header><h1>Sveltos air-gap site status</h1><nav aria-label="views"><a id="nav-clusters" href="?">Clusters</a><a id="nav-store" href="?view=store">Store</a></nav><p class="muted" id="meta" aria-live="polite">loading…</p></header>
<main>
<div id="clusters-view">
<div class="controls">
<div><label for="q">Cluster</label><input id="q" type="search" placeholder="namespace/name"></div>
<div><label for="label">Label</label><input id="label" type="search" placeholder="key=value or key"></div>
<div><label for="state">State</label><select id="state"><option value="">any</option><option>Failed</option><option>Provisioning</option><option>Removing</option><option>Provisioned</option><option value="stale">stale heartbeat</option></select></div>
</div>
<table id="overview"><caption>Clusters</caption><thead><tr></tr></thead><tbody></tbody></table>
<section id="detail" aria-live="polite"></section>
</div>
<section id="store" hidden></section>
</main>
<script>
(function () {
  var INLINE = ${inline};
  var POLL = ${opts.pollMs ?? 2000};
  var SYMBOL = { Provisioned: '\\u2713', Provisioning: '\\u2026', Failed: '\\u2717', Removing: '\\u21ba', none: '-' };
  var COLUMNS = [['cluster', 'Cluster'], ['labels', 'Labels'], ['state', 'State'], ['groups', 'Groups (Provisioned/Provisioning/Failed/Removing)'], ['sequence', 'Bundle'], ['heartbeat', 'Last heartbeat'], ['driftReports', 'Drift reports']];
  var data = INLINE, content = {}, store = null;
  var params = new URLSearchParams(location.search);
  var q = document.getElementById('q'), lf = document.getElementById('label'), st = document.getElementById('state');
  q.value = params.get('q') || ''; lf.value = params.get('label') || ''; st.value = params.get('state') || '';
  function text(t) { return document.createTextNode(t == null ? '' : String(t)); }
  function el(tag, attrs, kids) { var e = document.createElement(tag); for (var k in attrs || {}) e.setAttribute(k, attrs[k]); (kids || []).forEach(function (c) { e.appendChild(typeof c === 'object' ? c : text(c)); }); return e; }
  function table(caption, heads, rows) {
    var t = el('table', {}, [el('caption', {}, [caption]), el('thead', {}, [el('tr', {}, heads.map(function (h) { return el('th', { scope: 'col' }, [h]); }))])]);
    var tb = el('tbody'); if (!rows.length) tb.appendChild(el('tr', {}, [el('td', { colspan: String(heads.length) }, ['none'])]));
    rows.forEach(function (r) { tb.appendChild(el('tr', {}, r.map(function (c, i) { return i === 0 ? el('th', { scope: 'row' }, [c]) : (c && c.nodeType ? el('td', {}, [c]) : el('td', {}, [c == null ? '' : String(c)])); }))); });
    t.appendChild(tb); return t;
  }
  function keep() {
    var p = new URLSearchParams();
    ['view', 'cluster', 'sort'].forEach(function (k) { if (params.get(k)) p.set(k, params.get(k)); });
    if (q.value) p.set('q', q.value); if (lf.value) p.set('label', lf.value); if (st.value) p.set('state', st.value);
    params = p; history.replaceState(null, '', '?' + p.toString());
  }
  // The data sits beside the page: at /ui/api/ when the page is /, /ui or /ui/ (under any prefix a proxy adds).
  var BASE = location.pathname.replace(new RegExp('ui/?$'), '').replace(/[^/]*$/, '');
  function get(path, as) { return fetch(BASE + path, { credentials: 'same-origin' }).then(function (r) { return r.ok ? (as === 'text' ? r.text() : r.json()) : Promise.reject(new Error('HTTP ' + r.status)); }); }
  function age(s) { return s == null ? 'never' : s < 120 ? s + ' s ago' : s < 7200 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago'; }
  function bytes(n) { return n == null ? '-' : n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' KiB' : n < 1073741824 ? (n / 1048576).toFixed(1) + ' MiB' : (n / 1073741824).toFixed(2) + ' GiB'; }
  function labelText(l) { return Object.keys(l || {}).sort().map(function (k) { return k + '=' + l[k]; }).join(', '); }
  function labelMatch(l, f) { if (!f) return true; var i = f.indexOf('='), k = i < 0 ? f : f.slice(0, i); return Object.prototype.hasOwnProperty.call(l || {}, k) && (i < 0 || l[k] === f.slice(i + 1)); }
  function spark(r) {
    var total = r.groups.Provisioned + r.groups.Provisioning + r.groups.Failed + r.groups.Removing || 1, x = 0, svg = '<svg width="80" height="10" role="img" aria-label="group states"><title>group states</title>';
    [['Provisioned', '#2e7d32'], ['Provisioning', '#f9a825'], ['Failed', '#c62828'], ['Removing', '#5c6bc0']].forEach(function (s) { var w = 80 * r.groups[s[0]] / total; svg += '<rect x="' + x + '" y="0" width="' + w + '" height="10" fill="' + s[1] + '"></rect>'; x += w; });
    var span = document.createElement('span'); span.innerHTML = svg + '</svg>'; return span;
  }
  // timeline draws a cluster's imports and agent reports on one time axis; shapes, not only colours, tell them apart.
  var MARK = { import: ['\\u25b2 import', '#1a56db'], applied: ['\\u25cf applied', '#2e7d32'], failed: ['\\u2716 failed', '#c62828'], heartbeat: ['\\u25c6 heartbeat', '#555'] };
  function shape(kind, x, y) {
    if (kind === 'import') return '<polygon points="' + x + ',' + (y - 7) + ' ' + (x - 6) + ',' + (y + 5) + ' ' + (x + 6) + ',' + (y + 5) + '" fill="#1a56db"/>';
    if (kind === 'applied') return '<circle cx="' + x + '" cy="' + y + '" r="5" fill="#2e7d32"/>';
    if (kind === 'failed') return '<path d="M' + (x - 5) + ' ' + (y - 5) + 'L' + (x + 5) + ' ' + (y + 5) + 'M' + (x + 5) + ' ' + (y - 5) + 'L' + (x - 5) + ' ' + (y + 5) + '" stroke="#c62828" stroke-width="3"/>';
    return '<rect x="' + (x - 4) + '" y="' + (y - 4) + '" width="8" height="8" transform="rotate(45 ' + x + ' ' + y + ')" fill="#555"/>';
  }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; }); }
  function timeline(c) {
    var ev = c.timeline || [], box = el('div', { id: 'timeline' });
    box.appendChild(el('h3', {}, ['Timeline']));
    if (!ev.length) { box.appendChild(el('p', { class: 'muted' }, ['nothing recorded yet'])); return box; }
    var t = ev.map(function (e) { return Date.parse(e.time); }), lo = Math.min.apply(null, t), hi = Math.max(Math.max.apply(null, t), Date.parse(data.generatedAt) || 0), W = 640, pad = 16, span = Math.max(1, hi - lo);
    var rows = { import: 14, applied: 34, failed: 34, heartbeat: 54 }, svg = '<svg width="' + W + '" height="80" role="img" aria-labelledby="tl-title"><title id="tl-title">' + esc(ev.length + ' events of ' + c.cluster + ' from ' + new Date(lo).toISOString() + ' to ' + new Date(hi).toISOString()) + '</title>';
    svg += '<line x1="' + pad + '" y1="70" x2="' + (W - pad) + '" y2="70" stroke="#999"/>';
    ev.forEach(function (e, i) { var x = Math.round(pad + (W - 2 * pad) * (t[i] - lo) / span); svg += '<g><title>' + esc(e.time + ': ' + e.label) + '</title>' + shape(e.kind, x, rows[e.kind]) + '</g>'; });
    svg += '<text x="' + pad + '" y="79" font-size="9" fill="#333">' + esc(new Date(lo).toISOString().slice(0, 16).replace('T', ' ')) + '</text><text x="' + (W - pad) + '" y="79" font-size="9" fill="#333" text-anchor="end">' + esc(new Date(hi).toISOString().slice(0, 16).replace('T', ' ')) + '</text></svg>';
    var span2 = el('div'); span2.innerHTML = svg; box.appendChild(span2);
    box.appendChild(el('p', { class: 'muted' }, [Object.keys(MARK).map(function (k) { return MARK[k][0]; }).join('   ')]));
    var list = el('details', {}, [el('summary', {}, ['Events as a list'])]), ul = el('ul');
    ev.forEach(function (e) { ul.appendChild(el('li', {}, [e.time + ' \\u2014 ' + e.kind + ': ' + e.label])); });
    list.appendChild(ul); box.appendChild(list); return box;
  }
  function render() {
    if (!data) return;
    var onStore = params.get('view') === 'store';
    document.getElementById('nav-store').hidden = !data.live && !data.store;
    document.getElementById('nav-clusters').setAttribute('aria-current', onStore ? 'false' : 'page');
    document.getElementById('nav-store').setAttribute('aria-current', onStore ? 'page' : 'false');
    document.getElementById('clusters-view').hidden = onStore;
    document.getElementById('store').hidden = !onStore;
    document.getElementById('meta').textContent = data.title + ' \\u2014 ' + data.overview.length + ' cluster(s), as of ' + data.generatedAt;
    if (onStore) return renderStore();
    var sort = params.get('sort') || 'cluster';
    var head = document.querySelector('#overview thead tr'); head.textContent = '';
    COLUMNS.forEach(function (c) {
      var b = el('button', { type: 'button' }, [c[1] + (sort === c[0] ? ' \\u25b2' : '')]);
      b.addEventListener('click', function () { params.set('sort', c[0]); keep(); render(); });
      head.appendChild(el('th', { scope: 'col', 'aria-sort': sort === c[0] ? 'ascending' : 'none' }, [b]));
    });
    var rows = data.overview.filter(function (r) {
      if (q.value && r.cluster.indexOf(q.value) < 0) return false;
      if (!labelMatch(r.labels, lf.value.trim())) return false;
      if (st.value === 'stale') return r.stale;
      return !st.value || r.groups[st.value] > 0;
    });
    var key = function (r) { return sort === 'groups' ? -r.groups.Failed : sort === 'labels' ? labelText(r.labels) : sort === 'heartbeat' ? (r.heartbeatAgeSeconds == null ? Infinity : r.heartbeatAgeSeconds) : r[sort]; };
    rows.sort(function (a, b) { var x = key(a), y = key(b); return x < y ? -1 : x > y ? 1 : 0; });
    var body = document.querySelector('#overview tbody'); body.textContent = '';
    rows.forEach(function (r) {
      var link = el('a', { href: '?cluster=' + encodeURIComponent(r.cluster) }, [r.cluster]);
      link.addEventListener('click', function (ev) { ev.preventDefault(); params.set('cluster', r.cluster); keep(); if (data.live && !data.clusters[r.cluster]) refresh(); else detail(); });
      var g = r.groups;
      body.appendChild(el('tr', { 'data-cluster': r.cluster }, [
        el('th', { scope: 'row' }, [link]),
        el('td', {}, [labelText(r.labels) || '-']),
        el('td', { class: r.state }, [r.state === 'none' ? '- no agent report yet' : SYMBOL[r.state] + ' ' + r.state]),
        el('td', {}, [spark(r), ' ' + g.Provisioned + ' / ' + g.Provisioning + ' / ' + g.Failed + ' / ' + g.Removing]),
        el('td', {}, ['sequence ' + r.sequence + (r.importedAt ? ', imported ' + r.importedAt : '')]),
        el('td', r.stale ? { class: 'stale' } : {}, [(r.stale ? 'stale: ' : '') + age(r.heartbeatAgeSeconds)]),
        el('td', {}, [String(r.driftReports)]),
      ]));
    });
    detail();
  }
  function detail() {
    var name = params.get('cluster'), box = document.getElementById('detail'); box.textContent = '';
    var c = name && data.clusters[name]; if (!c) return;
    box.appendChild(el('h2', {}, ['Cluster ' + c.cluster]));
    box.appendChild(el('p', {}, ['Labels: ' + (labelText(c.labels) || 'none') + ' \\u2014 bundle sequence ' + c.sequence + (c.heartbeat && c.heartbeat.version ? ' \\u2014 Kubernetes ' + c.heartbeat.version : '')]));
    box.appendChild(timeline(c));
    box.appendChild(table('ConfigurationGroups of ' + c.cluster, ['Group', 'Profile', 'Feature', 'Tier', 'Action', 'State', 'Failure message', 'Last applied'], c.groups.map(function (g) {
      var s = el('span', { class: g.state }, [SYMBOL[g.state] + ' ' + g.state]);
      return [g.name, g.profile, g.feature, g.tier, g.action, s, g.failureMessage || '', g.lastAppliedTime || ''];
    })));
    var more = el('div', { id: 'content' }); box.appendChild(more);
    if (!data.live) { more.appendChild(el('p', { class: 'muted' }, ['Objects, Helm releases and images are shown by the live page of serve; a receipt holds the agents\\' status only.'])); return; }
    var have = content[c.cluster];
    if (have && have.sequence === c.sequence) return showContent(more, c, have.view);
    more.appendChild(el('p', { class: 'muted' }, ['loading objects\\u2026']));
    get('ui/api/clusters/' + c.cluster.split('/').map(encodeURIComponent).join('/') + '/content').then(function (v) { content[c.cluster] = { sequence: c.sequence, view: v }; if (params.get('cluster') === c.cluster) { more.textContent = ''; showContent(more, c, v); } }, function (e) { more.textContent = 'cannot read the objects: ' + e.message; });
  }
  function showContent(box, c, v) {
    box.appendChild(el('h3', {}, ['Objects']));
    v.groups.forEach(function (g) {
      var d = el('details', { 'data-group': g.name }, [el('summary', {}, [g.name + (g.encrypted ? ' \\u2014 encrypted' : ' \\u2014 ' + g.objects.length + ' object(s)')])]);
      if (g.encrypted) d.appendChild(el('p', {}, ['encrypted to site key(s) ' + (g.recipients || []).join(', ') + '; its objects are not shown']));
      var ul = el('ul');
      g.objects.forEach(function (o, i) {
        var li = el('li', {}, [el('code', {}, [o.kind + ' ' + (o.namespace ? o.namespace + '/' : '') + o.name]), o.secretKeys ? ' keys: ' + (o.secretKeys.join(', ') || 'none') : '']);
        var b = el('button', { type: 'button', class: 'objbtn', 'aria-expanded': 'false' }, ['YAML']);
        b.addEventListener('click', function () {
          var open = li.querySelector('pre'); if (open) { open.remove(); b.setAttribute('aria-expanded', 'false'); return; }
          get('ui/api/clusters/' + c.cluster.split('/').map(encodeURIComponent).join('/') + '/objects/' + encodeURIComponent(g.name) + '/' + i, 'text').then(function (y) { li.appendChild(el('pre', {}, [y])); b.setAttribute('aria-expanded', 'true'); }, function (e) { li.appendChild(el('pre', {}, ['cannot read it: ' + e.message])); });
        });
        li.appendChild(b); ul.appendChild(li);
      });
      d.appendChild(ul); box.appendChild(d);
    });
    if (v.releases.length) box.appendChild(table('Helm releases of ' + c.cluster, ['Release', 'Chart', 'Version', 'Group', 'Action'], v.releases.map(function (r) { return [r.release, r.chart, r.version, r.group, r.uninstall ? 'uninstall' : 'install/upgrade']; })));
    box.appendChild(table('Images used by ' + c.cluster, ['Image', 'Carried by the store', 'Used by'], v.images.map(function (im) { return [im.image, im.carried ? '\\u2713 yes' : '\\u2717 no', im.objects.join(', ')]; })));
    v.warnings.forEach(function (w) { box.appendChild(el('p', { class: 'muted' }, ['not served: ' + w])); });
  }
  function renderStore() {
    var box = document.getElementById('store');
    if (!store) { box.textContent = 'loading the store\\u2026'; }
    (data.store ? Promise.resolve(data.store) : get('ui/api/store')).then(function (s) {
      store = s; box.textContent = '';
      box.appendChild(el('h2', {}, ['Store']));
      box.appendChild(el('p', {}, ['Highest sequence ' + s.highestSequence + (s.diskBytes == null ? '' : ' \\u2014 disk used ' + bytes(s.diskBytes))]));
      box.appendChild(table('Imports', ['Sequence', 'Imported', 'Created', 'Signer (key hint)', 'Size', 'Clusters', 'Exporter'], s.imports.slice().reverse().map(function (i) { return [String(i.sequence), i.importedAt, i.createdAt, i.signer, bytes(i.bytes), String(i.clusters), i.source]; })));
      box.appendChild(table('Carried charts and images', ['Reference', 'Kind', 'Version', 'Proofs', 'Used by clusters'], s.artifacts.map(function (a) { return [a.ref, a.kind, a.version || '-', a.proofs.join(', ') || '-', a.clusters.join(', ') || '-']; })));
    }, function (e) { box.textContent = 'cannot read the store: ' + e.message; });
  }
  q.addEventListener('input', function () { keep(); render(); });
  lf.addEventListener('input', function () { keep(); render(); });
  st.addEventListener('change', function () { keep(); render(); });
  ['nav-clusters', 'nav-store'].forEach(function (id) {
    document.getElementById(id).addEventListener('click', function (ev) { ev.preventDefault(); if (id === 'nav-store') params.set('view', 'store'); else params.delete('view'); keep(); render(); });
  });
  // refresh reads the overview and the shown cluster's view (a fleet's views are megabytes: only one is asked for).
  function refresh() {
    var c = params.get('cluster');
    return get('ui/api/status' + (c ? '?cluster=' + encodeURIComponent(c) : '?cluster=')).then(function (d) { data = d; render(); }, function (e) { document.getElementById('meta').textContent = 'cannot read the status: ' + e.message; });
  }
  function poll() { refresh().then(function () { setTimeout(poll, POLL); }); }
  if (INLINE) render(); else poll();
})();
</script>
</body>
</html>
`;
}
