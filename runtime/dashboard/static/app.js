// The dashboard's entry point: the token prompt and the hash router. Each
// view is a function (main, params) that draws into main and returns a
// function that stops its streams and timers.

import {api, token, setToken, forgetToken, whenUnauthorized} from './api.js';
import {el, notice} from './util.js';
import {liveView, recentView} from './calls.js';
import {callView} from './call.js';
import {webhooksView} from './webhooks.js';

const main = document.getElementById('view');
const nav = document.getElementById('nav');
const logout = document.getElementById('logout');
const node = document.getElementById('node');
let stop = () => {};
let info = null;

const routes = [
  {re: /^#?\/?$/, name: 'live', view: liveView},
  {re: /^#\/recent$/, name: 'recent', view: recentView},
  {re: /^#\/call\/([^/]+)$/, name: 'call', view: callView},
  {re: /^#\/webhooks$/, name: 'webhooks', view: webhooksView},
];

function showLogin(message) {
  stop();
  stop = () => {};
  nav.hidden = true;
  logout.hidden = true;
  node.textContent = '';
  main.replaceChildren(document.getElementById('login-template').content.cloneNode(true));
  const form = document.getElementById('login');
  document.getElementById('login-error').textContent = message || '';
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    setToken(document.getElementById('token').value.trim());
    start();
  });
  document.getElementById('token').focus();
}

whenUnauthorized((err) => {
  if (err.code === 'admin_disabled') {
    forgetToken();
    showLogin(err.message);
  } else if (err.status === 401) {
    forgetToken();
    showLogin('The server refused the token: ' + err.message);
  }
});

async function start() {
  if (!token()) { showLogin(); return; }
  try {
    info = await api('/v1/admin/dashboard/info');
  } catch (err) {
    if (err.status !== 401 && err.status !== 403) showLogin('Cannot reach the server: ' + err.message);
    return;
  }
  nav.hidden = false;
  logout.hidden = false;
  node.textContent = 'agents: ' + (info.agents.join(', ') || '–');
  route();
}

function route() {
  if (!info) return;
  stop();
  const hash = location.hash || '#/';
  for (const r of routes) {
    const m = hash.match(r.re);
    if (!m) continue;
    for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.route === r.name);
    main.replaceChildren();
    stop = r.view(main, {id: m[1] ? decodeURIComponent(m[1]) : '', info}) || (() => {});
    return;
  }
  main.replaceChildren(notice('No such page: ' + hash, 'error'), el('a', {href: '#/'}, 'Live calls'));
  stop = () => {};
}

logout.addEventListener('click', () => { forgetToken(); info = null; showLogin(); });
window.addEventListener('hashchange', route);
start();
