import { createHash } from 'node:crypto';

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2330;background:#f4f5f8}
header{display:flex;gap:16px;align-items:center;padding:10px 20px;background:#1d2330;color:#fff}
header h1{font-size:16px;margin:0;font-weight:600}
header .grow{flex:1}
header progress{width:220px;height:10px}
header button{background:transparent;color:#fff;border:1px solid #8a93a8;border-radius:4px;padding:2px 8px;cursor:pointer}
main{max-width:1400px;margin:0 auto;padding:16px 20px}
.card{background:#fff;border:1px solid #d8dce5;border-radius:8px;padding:12px 16px;margin-bottom:14px}
.label{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:#5b6478;margin:0 0 6px}
.text{white-space:pre-wrap;overflow-wrap:anywhere;margin:0;font:inherit}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:14px}
.pair .card{min-height:160px}
.pair .card.picked{outline:3px solid #3b7ddd}
.actions{display:flex;flex-wrap:wrap;gap:8px;margin:4px 0 14px}
.actions button{font:inherit;padding:7px 14px;border-radius:6px;border:1px solid #b9c0cf;background:#fff;cursor:pointer}
.actions button.primary{background:#3b7ddd;border-color:#3b7ddd;color:#fff}
kbd{font:12px ui-monospace,monospace;border:1px solid #b9c0cf;border-bottom-width:2px;border-radius:3px;padding:0 4px;background:#f7f8fa;color:#1d2330}
.extras{display:grid;grid-template-columns:2fr 1fr;gap:14px}
textarea,input{font:inherit;width:100%;padding:6px 8px;border:1px solid #b9c0cf;border-radius:6px}
textarea{min-height:56px;resize:vertical}
#status{min-height:1.4em;color:#5b6478}
#status.error{color:#b3261e}
.hidden{display:none !important}
#help{position:fixed;inset:0;background:rgba(20,24,33,.55);display:flex;align-items:center;justify-content:center}
#help .card{max-width:460px}
#help table td{padding:3px 10px 3px 0}
#who{max-width:420px;margin:60px auto}
#item-id{text-transform:none;letter-spacing:0}
@media (max-width:800px){.pair,.extras{grid-template-columns:1fr}}
`;

const SCRIPT = `
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const token = new URLSearchParams(location.search).get('token') || '';
  let annotator = localStorage.getItem('pref-collect-annotator') || '';
  let current = null;
  let busy = false;

  function setStatus(text, isError) {
    $('status').textContent = text;
    $('status').className = isError ? 'error' : '';
  }
  async function api(path, body) {
    const url = path + '?annotator=' + encodeURIComponent(annotator);
    const response = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json', 'x-pref-token': token },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    if (!response.ok) throw new Error((data && data.error) || ('HTTP ' + response.status));
    return data;
  }
  function render(state) {
    current = state.item;
    const p = state.progress;
    $('progress').max = p.total;
    $('progress').value = p.complete;
    $('progress-text').textContent = p.complete + ' / ' + p.total + ' items done · you: ' + p.mine + ' · pairs: ' + p.pairs + ' · ties: ' + p.ties + ' · skips: ' + p.skips;
    $('annotator-name').textContent = annotator;
    const list = $('categories');
    list.replaceChildren();
    for (const c of state.categories) { const o = document.createElement('option'); o.value = c; list.appendChild(o); }
    $('left-card').classList.remove('picked');
    $('right-card').classList.remove('picked');
    if (!current) {
      $('work').classList.add('hidden');
      $('done').classList.remove('hidden');
      document.body.dataset.state = 'done';
      document.body.dataset.index = '';
      return;
    }
    $('done').classList.add('hidden');
    $('work').classList.remove('hidden');
    $('prompt').textContent = current.prompt;
    $('left-text').textContent = current.left;
    $('right-text').textContent = current.right;
    $('item-id').textContent = 'item ' + (current.index + 1) + ' (' + current.id + ')';
    $('note').value = '';
    $('category').value = current.category || '';
    document.body.dataset.index = String(current.index);
    document.body.dataset.state = 'ready';
  }
  async function load() {
    document.body.dataset.state = 'busy';
    try { render(await api('/api/state')); setStatus(''); }
    catch (e) { setStatus(e.message, true); document.body.dataset.state = 'error'; }
  }
  async function decide(choice) {
    if (!current || busy) return;
    busy = true;
    document.body.dataset.state = 'busy';
    if (choice === 'left') $('left-card').classList.add('picked');
    if (choice === 'right') $('right-card').classList.add('picked');
    try {
      const state = await api('/api/decide', { index: current.index, choice: choice, note: $('note').value, category: $('category').value });
      render(state);
      setStatus('saved: ' + choice);
    } catch (e) { setStatus(e.message, true); document.body.dataset.state = 'error'; }
    finally { busy = false; }
  }
  async function undo() {
    if (busy) return;
    busy = true;
    document.body.dataset.state = 'busy';
    try {
      const state = await api('/api/undo', {});
      render(state);
      setStatus(state.undone ? 'undone' : 'nothing to undo');
    } catch (e) { setStatus(e.message, true); document.body.dataset.state = 'error'; }
    finally { busy = false; }
  }
  function toggleHelp(show) {
    $('help').classList.toggle('hidden', show === undefined ? !$('help').classList.contains('hidden') : !show);
  }
  function start(name) {
    annotator = name.trim();
    if (!annotator) return;
    localStorage.setItem('pref-collect-annotator', annotator);
    $('who').classList.add('hidden');
    $('app').classList.remove('hidden');
    load();
  }
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = event.target && event.target.tagName;
    if (tag === 'INPUT' || tag === 'TEXTAREA') {
      if (event.key === 'Escape') event.target.blur();
      if (event.key === 'Enter' && event.target.id === 'name') start(event.target.value);
      return;
    }
    if (!annotator) return;
    const key = event.key;
    if (key === '?') { toggleHelp(); event.preventDefault(); return; }
    if (key === 'Escape') { toggleHelp(false); return; }
    if (!$('help').classList.contains('hidden')) return;
    if (key === '1' || key === 'ArrowLeft') decide('left');
    else if (key === '2' || key === 'ArrowRight') decide('right');
    else if (key === 't' || key === 'T') decide('tie');
    else if (key === 's' || key === 'S') decide('skip');
    else if (key === 'u' || key === 'U') undo();
    else return;
    event.preventDefault();
  });
  $('btn-left').addEventListener('click', () => decide('left'));
  $('btn-right').addEventListener('click', () => decide('right'));
  $('btn-tie').addEventListener('click', () => decide('tie'));
  $('btn-skip').addEventListener('click', () => decide('skip'));
  $('btn-undo').addEventListener('click', () => undo());
  $('btn-help').addEventListener('click', () => toggleHelp());
  $('btn-close-help').addEventListener('click', () => toggleHelp(false));
  $('btn-start').addEventListener('click', () => start($('name').value));
  $('btn-change').addEventListener('click', () => {
    localStorage.removeItem('pref-collect-annotator');
    annotator = '';
    $('app').classList.add('hidden');
    $('who').classList.remove('hidden');
    $('name').focus();
  });
  if (annotator) start(annotator); else { document.body.dataset.state = 'who'; $('name').focus(); }
})();
`;

const BODY = `
<div id="who" class="card">
  <p class="label">Annotator</p>
  <p>Your name is recorded with every decision.</p>
  <input id="name" autocomplete="name" placeholder="your name" maxlength="100">
  <div class="actions"><button id="btn-start" class="primary">Start</button></div>
</div>
<div id="app" class="hidden">
<header>
  <h1>pref collect</h1>
  <progress id="progress" value="0" max="1"></progress>
  <span id="progress-text"></span>
  <span class="grow"></span>
  <span>annotator: <strong id="annotator-name"></strong></span>
  <button id="btn-change" title="change annotator">change</button>
  <button id="btn-help" title="keyboard shortcuts (?)">?</button>
</header>
<main>
  <div id="status" role="status"></div>
  <div id="done" class="card hidden"><p class="label">Done</p><p>Every item is labeled (or was already labeled by you). Thank you! You can close this tab.</p></div>
  <div id="work">
    <div class="card"><p class="label">Prompt · <span id="item-id"></span></p><pre id="prompt" class="text"></pre></div>
    <div class="pair">
      <div id="left-card" class="card"><p class="label"><kbd>1</kbd> / <kbd>←</kbd> Left response</p><pre id="left-text" class="text"></pre></div>
      <div id="right-card" class="card"><p class="label"><kbd>2</kbd> / <kbd>→</kbd> Right response</p><pre id="right-text" class="text"></pre></div>
    </div>
    <div class="actions">
      <button id="btn-left" class="primary">Left is better <kbd>1</kbd></button>
      <button id="btn-right" class="primary">Right is better <kbd>2</kbd></button>
      <button id="btn-tie">Tie <kbd>t</kbd></button>
      <button id="btn-skip">Skip <kbd>s</kbd></button>
      <button id="btn-undo">Undo <kbd>u</kbd></button>
    </div>
    <div class="extras">
      <div><p class="label">Note (optional, saved with the decision)</p><textarea id="note" maxlength="10000"></textarea></div>
      <div><p class="label">Category</p><input id="category" list="categories" maxlength="200"><datalist id="categories"></datalist></div>
    </div>
  </div>
</main>
</div>
<div id="help" class="hidden"><div class="card">
  <p class="label">Keyboard</p>
  <table>
    <tr><td><kbd>1</kbd> <kbd>←</kbd></td><td>left response is better</td></tr>
    <tr><td><kbd>2</kbd> <kbd>→</kbd></td><td>right response is better</td></tr>
    <tr><td><kbd>t</kbd></td><td>tie (no pair is made)</td></tr>
    <tr><td><kbd>s</kbd></td><td>skip this item</td></tr>
    <tr><td><kbd>u</kbd></td><td>undo your last decision</td></tr>
    <tr><td><kbd>?</kbd></td><td>this help; <kbd>Esc</kbd> closes it</td></tr>
  </table>
  <p>Every decision is saved on the server the moment you make it. Sides are shuffled per item.</p>
  <div class="actions"><button id="btn-close-help">Close</button></div>
</div></div>
`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** The collection page: one self-contained HTML document (no external assets) and its CSP. */
export function collectPage(): { html: string; contentSecurityPolicy: string } {
  const html = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>pref collect</title><style>${STYLE}</style></head><body>${BODY}<script>${SCRIPT}</script></body></html>\n`;
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${sha256(SCRIPT)}`,
    `style-src ${sha256(STYLE)}`,
    "connect-src 'self'",
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}
