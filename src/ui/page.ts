// The status page: one self-contained HTML document (inline CSS and script, no external asset, no framework).
// Live (`serve --ui-listen`) it polls /ui/api/status every 2 s; offline (`inspect-receipt --html`) the data is
// inlined. The filter and the sort are kept in the URL. States read as text and symbol, not colour alone.

/** PageData is what the page shows: the overview rows and each cluster's groups. */
export interface PageData {
  title: string;
  generatedAt: string;
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
</style>
</head>
<body>
<header><h1>Sveltos air-gap site status</h1><p class="muted" id="meta" aria-live="polite">loading…</p></header>
<main>
<div class="controls">
<div><label for="q">Cluster</label><input id="q" type="search" placeholder="namespace/name"></div>
<div><label for="state">State</label><select id="state"><option value="">any</option><option>Failed</option><option>Provisioning</option><option>Removing</option><option>Provisioned</option><option value="stale">stale heartbeat</option></select></div>
</div>
<table id="overview"><caption>Clusters</caption><thead><tr></tr></thead><tbody></tbody></table>
<section id="detail" aria-live="polite"></section>
</main>
<script>
(function () {
  var INLINE = ${inline};
  var POLL = ${opts.pollMs ?? 2000};
  var SYMBOL = { Provisioned: '\\u2713', Provisioning: '\\u2026', Failed: '\\u2717', Removing: '\\u21ba', none: '-' };
  var COLUMNS = [['cluster', 'Cluster'], ['state', 'State'], ['groups', 'Groups (Provisioned/Provisioning/Failed/Removing)'], ['sequence', 'Bundle'], ['heartbeat', 'Last heartbeat'], ['driftReports', 'Drift reports']];
  var data = INLINE;
  var params = new URLSearchParams(location.search);
  var q = document.getElementById('q'), st = document.getElementById('state');
  q.value = params.get('q') || ''; st.value = params.get('state') || '';
  function text(t) { return document.createTextNode(t == null ? '' : String(t)); }
  function el(tag, attrs, kids) { var e = document.createElement(tag); for (var k in attrs || {}) e.setAttribute(k, attrs[k]); (kids || []).forEach(function (c) { e.appendChild(typeof c === 'object' ? c : text(c)); }); return e; }
  function keep() { var p = new URLSearchParams(); if (q.value) p.set('q', q.value); if (st.value) p.set('state', st.value); if (params.get('sort')) p.set('sort', params.get('sort')); if (params.get('cluster')) p.set('cluster', params.get('cluster')); history.replaceState(null, '', '?' + p.toString()); }
  function age(s) { return s == null ? 'never' : s < 120 ? s + ' s ago' : s < 7200 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago'; }
  function spark(r) {
    var total = r.groups.Provisioned + r.groups.Provisioning + r.groups.Failed + r.groups.Removing || 1, x = 0, svg = '<svg width="80" height="10" role="img" aria-label="group states"><title>group states</title>';
    [['Provisioned', '#2e7d32'], ['Provisioning', '#f9a825'], ['Failed', '#c62828'], ['Removing', '#5c6bc0']].forEach(function (s) { var w = 80 * r.groups[s[0]] / total; svg += '<rect x="' + x + '" y="0" width="' + w + '" height="10" fill="' + s[1] + '"></rect>'; x += w; });
    var span = document.createElement('span'); span.innerHTML = svg + '</svg>'; return span;
  }
  function render() {
    if (!data) return;
    document.getElementById('meta').textContent = data.title + ' \\u2014 ' + data.overview.length + ' cluster(s), as of ' + data.generatedAt;
    var sort = params.get('sort') || 'cluster';
    var head = document.querySelector('#overview thead tr'); head.textContent = '';
    COLUMNS.forEach(function (c) {
      var b = el('button', { type: 'button' }, [c[1] + (sort === c[0] ? ' \\u25b2' : '')]);
      b.addEventListener('click', function () { params.set('sort', c[0]); keep(); render(); });
      head.appendChild(el('th', { scope: 'col', 'aria-sort': sort === c[0] ? 'ascending' : 'none' }, [b]));
    });
    var rows = data.overview.filter(function (r) {
      if (q.value && r.cluster.indexOf(q.value) < 0) return false;
      if (st.value === 'stale') return r.stale;
      return !st.value || r.groups[st.value] > 0;
    });
    rows.sort(function (a, b) { var x = sort === 'groups' ? -a.groups.Failed : a[sort], y = sort === 'groups' ? -b.groups.Failed : b[sort]; return x < y ? -1 : x > y ? 1 : 0; });
    var body = document.querySelector('#overview tbody'); body.textContent = '';
    rows.forEach(function (r) {
      var link = el('a', { href: '?cluster=' + encodeURIComponent(r.cluster) }, [r.cluster]);
      link.addEventListener('click', function (ev) { ev.preventDefault(); params.set('cluster', r.cluster); keep(); detail(); });
      var g = r.groups;
      body.appendChild(el('tr', { 'data-cluster': r.cluster }, [
        el('th', { scope: 'row' }, [link]),
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
    var t = el('table', {}, [el('caption', {}, ['ConfigurationGroups of ' + c.cluster])]);
    t.appendChild(el('thead', {}, [el('tr', {}, ['Group', 'Requestor', 'Action', 'State', 'Failure message', 'Last applied'].map(function (h) { return el('th', { scope: 'col' }, [h]); }))]));
    var tb = el('tbody');
    c.groups.forEach(function (g) { tb.appendChild(el('tr', {}, [el('th', { scope: 'row' }, [g.name]), el('td', {}, [g.requestor]), el('td', {}, [g.action]), el('td', { class: g.state }, [SYMBOL[g.state] + ' ' + g.state]), el('td', {}, [g.failureMessage || '']), el('td', {}, [g.lastAppliedTime || ''])])); });
    t.appendChild(tb); box.appendChild(t);
  }
  q.addEventListener('input', function () { keep(); render(); });
  st.addEventListener('change', function () { keep(); render(); });
  function poll() {
    fetch('ui/api/status', { credentials: 'same-origin', headers: { accept: 'application/json' } }).then(function (r) { return r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status)); })
      .then(function (d) { data = d; render(); }, function (e) { document.getElementById('meta').textContent = 'cannot read the status: ' + e.message; })
      .then(function () { setTimeout(poll, POLL); });
  }
  if (INLINE) render(); else poll();
})();
</script>
</body>
</html>
`;
}
