/** The single page of the web console: plain HTML and a little script over the JSON API. */
export const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Herald console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { font-family: system-ui, sans-serif; color: #1f2328; }
  body { margin: 0; }
  header { background: #24292f; color: #fff; padding: 12px 20px; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header span { opacity: .7; font-size: 13px; }
  main { padding: 16px 20px; }
  nav button, .filters select, .filters input, .filters button { font: inherit; padding: 4px 10px; }
  nav button.active { background: #0969da; color: #fff; border: 1px solid #0969da; }
  .filters { margin: 12px 0; display: flex; gap: 8px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #d0d7de; vertical-align: top; }
  th { background: #f6f8fa; }
  td.error { color: #cf222e; max-width: 380px; }
  .status { padding: 1px 6px; border-radius: 10px; font-size: 12px; }
  .status.dead, .status.failed { background: #ffebe9; color: #cf222e; }
  .status.published, .status.processed { background: #dafbe1; color: #1a7f37; }
  .status.pending, .status.processing { background: #fff8c5; color: #9a6700; }
  pre { margin: 0; max-width: 360px; white-space: pre-wrap; word-break: break-all; font-size: 12px; }
  #message { margin-left: 8px; color: #1a7f37; }
</style>
</head>
<body>
<header><h1>Herald console</h1><span id="health">…</span></header>
<main>
  <nav>
    <button data-kind="outbox" class="active" data-testid="tab-outbox">Outbox</button>
    <button data-kind="inbox" data-testid="tab-inbox">Inbox</button>
    <button data-kind="catalog" data-testid="tab-catalog">Events</button>
  </nav>
  <div class="filters" id="filters">
    <select id="status" data-testid="status-filter">
      <option value="">any status</option>
      <option>pending</option><option>failed</option><option>dead</option>
      <option>published</option><option>processing</option><option>processed</option>
    </select>
    <input id="event" placeholder="event name" data-testid="event-filter">
    <button id="refresh" data-testid="refresh">Refresh</button>
    <span id="message" data-testid="message"></span>
  </div>
  <table>
    <thead id="head"></thead>
    <tbody id="rows" data-testid="rows"></tbody>
  </table>
</main>
<script>
  let kind = 'outbox';
  const $ = (id) => document.getElementById(id);
  // The token arrives once in the URL fragment (never sent to a server); keep it for this tab only.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get('token')) {
    sessionStorage.setItem('herald-console-token', fragment.get('token'));
    history.replaceState(null, '', location.pathname + location.search);
  }
  async function api(path, init = {}) {
    const token = sessionStorage.getItem('herald-console-token') ?? '';
    const res = await fetch(path, { ...init, headers: { ...init.headers, authorization: 'Bearer ' + token } });
    const body = await res.json();
    if (!res.ok) {
      $('message').textContent = body.error ?? ('HTTP ' + res.status);
      throw new Error(body.error);
    }
    return body;
  }
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  // Earlier failures of a record, folded under its last error.
  function failureHistory(entries) {
    if (!entries || entries.length < 2) return '';
    return '<details data-testid="history"><summary>' + entries.length + ' failures</summary><ol>' +
      entries.map((h) => '<li>' + esc(h.at) + ': ' + esc(h.error) + '</li>').join('') + '</ol></details>';
  }
  const RECORD_HEAD = '<tr><th>Event</th><th>Id</th><th>Handler</th><th>Status</th><th>Attempts</th><th>Created</th><th>Due</th><th>Last error</th><th>Payload</th><th></th></tr>';
  const CATALOG_HEAD = '<tr><th>Event</th><th>Versions</th><th>Producers</th><th>Consumers</th><th>Schema</th></tr>';
  // The event catalog: the same data as the service's AsyncAPI contract (plus the other services' contracts given).
  async function loadCatalog() {
    const entries = await api('/api/catalog');
    $('head').innerHTML = CATALOG_HEAD;
    $('rows').innerHTML = entries.map((e) => '<tr data-testid="event" data-name="' + esc(e.name) + '">' +
      '<td data-testid="event-name">' + esc(e.name) + '</td>' +
      '<td data-testid="event-versions">' + e.versions.map((v) => 'v' + v).join(', ') +
      (e.upcasters.length ? '<br><small>upcasters ' + e.upcasters.map((v) => 'v' + v + '→v' + (v + 1)).join(', ') + '</small>' : '') + '</td>' +
      '<td data-testid="event-producers">' + e.producers.map((p) => esc(p.service) + ' (v' + p.version + ')').join('<br>') + '</td>' +
      '<td data-testid="event-consumers">' + e.consumers.map((c) => esc(c.service) + ': ' + esc(c.handler) + ' <small>(' + esc(c.group) + ', v' + c.version + ')</small>').join('<br>') + '</td>' +
      '<td data-testid="event-schema">' + (e.schemaKind === 'json-schema' ? '<pre>' + esc(JSON.stringify(e.schema, null, 1)) + '</pre>' : '<em>' + (e.schemaKind === 'none' ? 'no schema declared' : 'schema not describable') + '</em>') + '</td></tr>').join('') ||
      '<tr><td colspan="5">No events.</td></tr>';
  }
  async function load() {
    $('filters').style.display = kind === 'catalog' ? 'none' : '';
    if (kind === 'catalog') return loadCatalog();
    $('head').innerHTML = RECORD_HEAD;
    const params = new URLSearchParams({ status: $('status').value, event: $('event').value });
    const rows = await api('/api/' + kind + '?' + params);
    $('rows').innerHTML = rows.map((r) => '<tr data-testid="row" data-id="' + esc(r.id) + '" data-status="' + esc(r.status) + '">' +
      '<td>' + esc(r.eventName) + '</td><td><code>' + esc(r.id) + '</code></td><td>' + esc(r.handler ?? '') + '</td>' +
      '<td><span class="status ' + esc(r.status) + '" data-testid="status">' + esc(r.status) + '</span></td>' +
      '<td>' + r.attempts + '</td><td>' + esc(r.createdAt) + '</td><td data-testid="due">' + esc(r.nextAttemptAt ?? '') + '</td><td class="error">' + esc(r.lastError ?? '') + '</td>' +
      '<td><pre>' + esc(r.body ?? '') + '</pre></td><td>' +
      (r.status === 'dead' || r.status === 'failed'
        ? '<button data-testid="requeue" data-id="' + esc(r.id) + '" data-handler="' + esc(r.handler ?? '') + '">Re-publish</button> '
        : '') +
      '<button data-testid="purge" data-id="' + esc(r.id) + '" data-handler="' + esc(r.handler ?? '') + '">Purge</button></td></tr>').join('') ||
      '<tr><td colspan="10">Nothing here.</td></tr>';
    const health = await (await fetch('/readyz')).json();
    $('health').textContent = (health.ready ? 'ready' : 'not ready') + ' · ' + health.transport.name + (health.outbox ? ' · backlog ' + health.outbox.pending : '');
  }
  async function act(action, id, handler) {
    const body = kind === 'outbox' ? { ids: [id] } : { keys: [{ messageId: id, handler }] };
    const res = await api('/api/' + kind + '/' + action, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    $('message').textContent = action === 'requeue' ? 'Re-published ' + res.changed : 'Purged ' + res.changed;
    await load();
  }
  document.querySelectorAll('nav button').forEach((b) => b.addEventListener('click', () => {
    document.querySelectorAll('nav button').forEach((x) => x.classList.remove('active'));
    b.classList.add('active'); kind = b.dataset.kind; load();
  }));
  $('refresh').addEventListener('click', load);
  $('status').addEventListener('change', load);
  $('rows').addEventListener('click', (e) => {
    const t = e.target;
    if (t.dataset && (t.dataset.testid === 'requeue' || t.dataset.testid === 'purge')) act(t.dataset.testid, t.dataset.id, t.dataset.handler);
  });
  load();
</script>
</body>
</html>`;
