import { scriptHash } from '../http/security-headers.ts';

/**
 * The admin API's browsable reference: one self-contained HTML page (no
 * CDN, nothing from anywhere but this listener) that carries no data of its
 * own. The operator pastes a bearer token; the page's script fetches
 * /openapi.json with it (the token stays in a variable of the page, never in
 * storage, a cookie or the URL) and renders the operations, their
 * parameters, bodies and answers from the document. Served without a token,
 * since it holds nothing the document does not, and the document needs one.
 *
 * Its policy allows the one inline script and the one inline style by their
 * hashes, connections to this origin only, no forms, no frames, and no HTML
 * written by script (Trusted Types with no policy): the document's texts are
 * put into the page as text, so a description cannot become markup.
 */
const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 70rem; padding: 1rem 1.5rem; color: #1b1f24; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
label { font-weight: 600; } input { font: inherit; width: 32rem; max-width: 100%; padding: .3rem; }
button { font: inherit; padding: .3rem .9rem; }
details { border: 1px solid #d0d7de; border-radius: 6px; margin: .4rem 0; padding: .3rem .6rem; }
summary { cursor: pointer; } .method { display: inline-block; min-width: 4.5rem; font-weight: 700; font-family: ui-monospace, monospace; }
.path { font-family: ui-monospace, monospace; } .scope { color: #57606a; font-size: .85rem; margin-left: .5rem; }
pre { background: #f6f8fa; padding: .5rem; overflow-x: auto; font-size: .85rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #d0d7de; padding: .2rem .5rem; text-align: left; vertical-align: top; }
#status { margin: .8rem 0; } .problem { color: #b42318; }
`;

const SCRIPT = `
'use strict';
let token = '';
const $ = (id) => document.getElementById(id);
function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}
function schemaBlock(title, schema) {
  const wrap = el('div');
  wrap.append(el('h4', title), el('pre', JSON.stringify(schema, null, 2)));
  return wrap;
}
function operation(method, path, op) {
  const box = el('details');
  box.className = 'operation';
  const head = el('summary');
  head.append(el('span', method.toUpperCase(), 'method'), el('span', path, 'path'), el('span', ' ' + (op.summary || ''), ''), el('span', op['x-required-scope'] || 'no token', 'scope'));
  box.append(head);
  if (op.description) box.append(el('p', op.description));
  if (op.parameters && op.parameters.length) {
    const table = el('table');
    const header = el('tr');
    for (const name of ['parameter', 'in', 'required', 'schema']) header.append(el('th', name));
    table.append(header);
    for (const p of op.parameters) {
      const row = el('tr');
      row.append(el('td', p.name), el('td', p.in), el('td', p.required ? 'yes' : 'no'), el('td', JSON.stringify(p.schema)));
      table.append(row);
    }
    box.append(el('h4', 'Parameters'), table);
  }
  const body = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
  if (body) box.append(schemaBlock('Request body (application/json)', body.schema));
  for (const [status, answer] of Object.entries(op.responses || {})) {
    const content = answer.content ? Object.entries(answer.content)[0] : undefined;
    box.append(schemaBlock('Answer ' + status + (content ? ' (' + content[0] + ')' : ''), content ? content[1].schema : answer.description));
  }
  return box;
}
function render(doc) {
  const out = $('operations');
  out.replaceChildren();
  out.append(el('h1', (doc.info && doc.info.title || 'API') + ' ' + (doc.info && doc.info.version || '')));
  if (doc.info && doc.info.description) out.append(el('p', doc.info.description));
  const byTag = new Map();
  for (const [path, methods] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = (op.tags && op.tags[0]) || 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(method, path, op));
    }
  }
  for (const [tag, ops] of byTag) {
    const section = el('section');
    section.append(el('h2', tag), ...ops);
    out.append(section);
  }
  const count = [...byTag.values()].reduce((n, ops) => n + ops.length, 0);
  $('status').textContent = count + ' operations';
}
async function load() {
  token = $('token').value.trim();
  $('token').value = '';
  $('status').className = '';
  $('status').textContent = 'Loading…';
  try {
    const answer = await fetch('/openapi.json', { headers: { authorization: 'Bearer ' + token }, cache: 'no-store' });
    const body = await answer.json();
    if (!answer.ok) {
      $('status').className = 'problem';
      $('status').textContent = answer.status + ': ' + (body.detail || body.title || 'refused');
      return;
    }
    render(body);
  } catch (error) {
    $('status').className = 'problem';
    $('status').textContent = 'The document could not be loaded: ' + error.message;
  }
}
$('load').addEventListener('click', () => { void load(); });
$('token').addEventListener('keydown', (event) => { if (event.key === 'Enter') void load(); });
`;

const HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Latchkey admin API reference</title><style>${STYLE}</style></head>
<body>
<p>The operations of this admin API, from its OpenAPI document (<code>/openapi.json</code>), which needs a bearer token (scope <code>admin:read</code>).
The token is kept in this page's memory only, and forgotten when the page is left.</p>
<p><label for="token">Bearer token</label><br><input id="token" type="password" autocomplete="off" spellcheck="false"> <button id="load" type="button">Load the reference</button></p>
<div id="status" role="status"></div>
<main id="operations"></main>
<script>${SCRIPT}</script>
</body></html>
`;

export const REFERENCE_PAGE: { html: string; csp: string } = {
  html: HTML,
  csp: [
    "default-src 'none'",
    `script-src ${scriptHash(SCRIPT)}`,
    `style-src ${scriptHash(STYLE)}`,
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'none'",
    "base-uri 'none'",
    "object-src 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; '),
};
