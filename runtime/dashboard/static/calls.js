// The live and recent call lists. Both read GET calls; the live list
// refreshes whenever the event stream says a call started, changed state,
// finished a turn or ended, and its durations tick every second.

import {api, stream} from './api.js';
import {el, duration, dateTime, badge, callLink, notice} from './util.js';

// watchCalls calls draw(list) now and after every change; it returns a stop.
function watchCalls(main, draw) {
  const ctl = new AbortController();
  let busy = false, again = false;
  const status = el('p', {class: 'muted small', id: 'stream-status'});
  const refresh = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      draw(await api('/v1/admin/dashboard/calls', {signal: ctl.signal}));
    } catch (err) {
      if (!ctl.signal.aborted) status.textContent = 'Refresh failed: ' + err.message;
    } finally {
      busy = false;
      if (again && !ctl.signal.aborted) { again = false; refresh(); }
    }
  };
  main.append(status);
  stream('/v1/admin/dashboard/events', () => refresh(), ctl.signal, (state, err) => {
    status.textContent = state === 'open' ? 'Live: updates as calls change.' :
      state === 'error' ? 'Live updates stopped: ' + err.message : 'Reconnecting…';
    if (state === 'open') refresh();
  });
  const poll = setInterval(refresh, 5000); // in case an update was missed
  return {ctl, poll};
}

export function liveView(main) {
  const body = el('tbody');
  const empty = notice('No live calls on this node.');
  const table = el('table', {class: 'calls', id: 'live-calls'},
    el('thead', {}, el('tr', {}, ['Call', 'Agent', 'Transport', 'From', 'To', 'State', 'Duration', 'Turns'].map((h) => el('th', {}, h)))),
    body);
  main.append(el('h1', {}, 'Live calls'), empty, table);
  let rows = [];
  let fetchedAt = performance.now();
  const draw = (list) => {
    rows = list.live;
    fetchedAt = performance.now();
    empty.hidden = rows.length > 0;
    table.hidden = rows.length === 0;
    body.replaceChildren(...rows.map((c) => el('tr', {dataset: {call: c.call_id}},
      el('td', {}, callLink(c.call_id)), el('td', {}, c.agent_id), el('td', {}, c.transport),
      el('td', {}, c.from || '–'), el('td', {}, c.to || '–'), el('td', {}, badge(c.state)),
      el('td', {class: 'num dur', dataset: {ms: c.duration_ms}}, duration(c.duration_ms)),
      el('td', {class: 'num'}, c.turns))));
  };
  const tick = setInterval(() => {
    const extra = performance.now() - fetchedAt;
    for (const td of body.querySelectorAll('td.dur')) td.textContent = duration(Number(td.dataset.ms) + extra);
  }, 1000);
  const {ctl, poll} = watchCalls(main, draw);
  return () => { ctl.abort(); clearInterval(poll); clearInterval(tick); };
}

export function recentView(main) {
  const body = el('tbody');
  const empty = notice('No call has ended on this node since it started.');
  const table = el('table', {class: 'calls', id: 'recent-calls'},
    el('thead', {}, el('tr', {}, ['Call', 'Agent', 'Transport', 'From', 'Started', 'Duration', 'Reason', 'Turns', 'Events'].map((h) => el('th', {}, h)))),
    body);
  main.append(el('h1', {}, 'Recent calls'), empty, table);
  const draw = (list) => {
    empty.hidden = list.recent.length > 0;
    table.hidden = list.recent.length === 0;
    body.replaceChildren(...list.recent.map((c) => el('tr', {dataset: {call: c.call_id}},
      el('td', {}, callLink(c.call_id)), el('td', {}, c.agent_id), el('td', {}, c.transport),
      el('td', {}, c.from || '–'), el('td', {}, dateTime(c.started_at)),
      el('td', {class: 'num'}, duration(c.duration_ms)), el('td', {}, badge(c.reason || '–', 'reason')),
      el('td', {class: 'num'}, c.turns), el('td', {class: 'num'}, c.events))));
  };
  const {ctl, poll} = watchCalls(main, draw);
  return () => { ctl.abort(); clearInterval(poll); };
}
