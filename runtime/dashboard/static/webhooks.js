// Webhooks: each endpoint's health and queue depths, the dead-letter queue
// with a Replay button per entry, and the latest stored events with their
// delivery attempts. It reads the webhook admin API (/v1/admin/webhooks/,
// docs/WEBHOOKS-ADMIN.md) with the same token, every few seconds.

import {api} from './api.js';
import {el, ms, dateTime, time, badge, callLink, notice} from './util.js';

const W = '/v1/admin/webhooks/';

export function webhooksView(main, {info}) {
  main.append(el('h1', {}, 'Webhooks'));
  if (!info.webhooks) {
    main.append(notice('No webhook dispatcher runs on this node: no webhook endpoints are configured. ' +
      'Add endpoints to the server config (webhooks.endpoints) or to an agent (webhooks:) to deliver events; see docs/WEBHOOKS.md.'));
    return () => {};
  }
  const ctl = new AbortController();
  const status = el('p', {class: 'muted small', id: 'webhooks-status'});
  const endpoints = el('div', {id: 'endpoints'});
  const dlq = el('div', {id: 'dlq'});
  const result = el('p', {class: 'notice', id: 'replay-result', hidden: true});
  const deliveries = el('div', {id: 'deliveries'});
  const open = new Set(); // event ids whose attempts are shown
  main.append(status,
    el('section', {class: 'card'}, el('h2', {}, 'Endpoints'), endpoints),
    el('section', {class: 'card'}, el('h2', {}, 'Dead-letter queue'), result, dlq),
    el('section', {class: 'card'}, el('h2', {}, 'Recent deliveries'),
      el('p', {class: 'muted small'}, 'The latest stored events, newest first. Click one to see its delivery attempts.'), deliveries));

  let busy = false;
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const [eps, dead, evs] = await Promise.all([
        api(W + 'endpoints', {signal: ctl.signal}),
        api(W + 'dlq?limit=200', {signal: ctl.signal}),
        api(W + 'events?limit=25', {signal: ctl.signal}),
      ]);
      drawEndpoints(eps);
      drawDLQ(dead.dead_letters);
      await drawDeliveries(evs.events);
      status.textContent = 'Updated ' + time(new Date().toISOString()) + '.';
    } catch (err) {
      if (!ctl.signal.aborted) status.textContent = 'Could not read the webhook admin API: ' + err.message;
    } finally {
      busy = false;
    }
  }

  function drawEndpoints({endpoints: list, producer}) {
    endpoints.replaceChildren(
      el('table', {class: 'endpoints'},
        el('thead', {}, el('tr', {}, ['Endpoint', 'URL', 'Circuit', 'Enabled', 'Pending', 'Retrying', 'Dead', 'Delivered', 'Attempts', 'Last error'].map((h) => el('th', {}, h)))),
        el('tbody', {}, list.map((e) => el('tr', {dataset: {endpoint: e.id}},
          el('td', {class: 'mono'}, e.id), el('td', {class: 'mono small'}, e.url),
          el('td', {}, badge(e.health.state, 'circuit-' + e.health.state),
            e.health.consecutive_failures ? el('span', {class: 'muted small'}, ` ${e.health.consecutive_failures} failures`) : null),
          el('td', {}, e.health.enabled ? badge('enabled', 'ok') : badge('disabled', 'bad'),
            e.health.disabled_reason ? el('div', {class: 'muted small'}, e.health.disabled_reason) : null),
          el('td', {class: 'num'}, e.pending), el('td', {class: 'num'}, e.retrying),
          el('td', {class: 'num'}, e.dead_lettered), el('td', {class: 'num'}, e.node.delivered),
          el('td', {class: 'num'}, e.node.attempts),
          el('td', {class: 'small'}, e.health.last_error ? `${e.health.last_error} (${dateTime(e.health.last_error_at)})` : '–'))))),
      el('p', {class: 'muted small'}, `This node: ${producer.accepted} events accepted, ${producer.stored} stored, ` +
        `${producer.dropped} dropped, ${producer.buffered} of ${producer.buffer_size} buffered.`));
  }

  function drawDLQ(list) {
    if (list.length === 0) { dlq.replaceChildren(notice('The dead-letter queue is empty.')); return; }
    dlq.replaceChildren(el('table', {class: 'dlq'},
      el('thead', {}, el('tr', {}, ['Endpoint', 'Event', 'Type', 'Call', 'Attempts', 'Reason', 'Dead-lettered', ''].map((h) => el('th', {}, h)))),
      el('tbody', {}, list.map((d) => el('tr', {dataset: {event: d.event_id}},
        el('td', {class: 'mono'}, d.endpoint_id), el('td', {class: 'mono small'}, d.event_id), el('td', {class: 'mono'}, d.event_type),
        el('td', {}, callLink(d.call_id)), el('td', {class: 'num'}, d.attempts), el('td', {class: 'small'}, d.reason),
        el('td', {}, dateTime(d.dead_lettered_at)),
        el('td', {}, el('button', {type: 'button', class: 'replay', dataset: {replay: d.event_id, endpoint: d.endpoint_id},
          onclick: (ev) => replay(ev.currentTarget, d)}, 'Replay')))))));
  }

  async function replay(button, d) {
    button.disabled = true;
    button.textContent = 'Replaying…';
    try {
      const res = await api(W + 'replay', {method: 'POST', body: {endpoint: d.endpoint_id, event_id: d.event_id}, signal: ctl.signal});
      result.hidden = false;
      result.className = 'notice ok';
      result.textContent = `Replayed ${res.replayed} event${res.replayed === 1 ? '' : 's'} to ${d.endpoint_id}: ${res.event_ids.join(', ')}`;
      await refresh();
    } catch (err) {
      if (ctl.signal.aborted) return;
      result.hidden = false;
      result.className = 'notice error';
      result.textContent = `Replay of ${d.event_id} failed: ${err.message}`;
      button.disabled = false;
      button.textContent = 'Replay';
    }
  }

  async function drawDeliveries(list) {
    if (list.length === 0) { deliveries.replaceChildren(notice('No event stored yet.')); return; }
    const attempts = new Map();
    await Promise.all([...open].filter((id) => list.some((e) => e.event_id === id)).map(async (id) => {
      attempts.set(id, (await api(W + 'events/' + encodeURIComponent(id) + '/attempts', {signal: ctl.signal})).attempts);
    }));
    const body = el('tbody');
    for (const e of list) {
      const row = el('tr', {class: 'ev', dataset: {event: e.event_id}, onclick: () => {
        if (open.has(e.event_id)) open.delete(e.event_id); else open.add(e.event_id);
        refresh();
      }},
      el('td', {class: 'mono small'}, e.event_id), el('td', {class: 'mono'}, e.event_type), el('td', {}, callLink(e.call_id)),
      el('td', {class: 'num'}, e.sequence), el('td', {}, time(e.stored_at)), el('td', {class: 'muted'}, open.has(e.event_id) ? '▾' : '▸'));
      body.append(row);
      if (attempts.has(e.event_id)) body.append(el('tr', {class: 'detail'}, el('td', {colspan: 6}, attemptTable(attempts.get(e.event_id)))));
    }
    deliveries.replaceChildren(el('table', {class: 'deliveries'},
      el('thead', {}, el('tr', {}, ['Event', 'Type', 'Call', 'Seq', 'Stored', ''].map((h) => el('th', {}, h)))), body));
  }

  function attemptTable(list) {
    if (list.length === 0) return el('p', {class: 'muted small'}, 'No attempt logged for this event (no endpoint takes it, or it waits).');
    return el('table', {class: 'attempts'},
      el('thead', {}, el('tr', {}, ['Endpoint', '#', 'At', 'Status', 'Latency', 'Outcome', 'Error', 'Next'].map((h) => el('th', {}, h)))),
      el('tbody', {}, list.map((a) => el('tr', {},
        el('td', {class: 'mono'}, a.endpoint_id), el('td', {class: 'num'}, a.attempt), el('td', {}, time(a.at)),
        el('td', {class: 'num'}, a.status ? badge(String(a.status), 'http' + String(a.status)[0] + 'xx') : '–'),
        el('td', {class: 'num'}, ms(a.latency_ns / 1e6)),
        el('td', {}, badge(a.dead_lettered ? 'dead-lettered' : a.outcome, a.dead_lettered ? 'bad' : a.outcome)),
        el('td', {class: 'small'}, a.error || '–'), el('td', {}, a.next_attempt_at ? time(a.next_attempt_at) : '–')))));
  }

  refresh();
  const poll = setInterval(refresh, 3000);
  return () => { ctl.abort(); clearInterval(poll); };
}
