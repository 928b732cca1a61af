// One call: its header, the transcript as it happens, a latency waterfall
// per turn and the list of its events. It starts from the snapshot the event
// stream sends first and applies each later event as it arrives.

import {stream} from './api.js';
import {el, duration, ms, time, badge, notice} from './util.js';

const CONVERSATION = new Set(['speech.transcribed', 'agent.response', 'call.interrupted', 'agent.resumed',
  'tool.called', 'tool.completed', 'turn.completed', 'turn.budget_exceeded', 'provider.error',
  'provider.fallback', 'call.transferred']);
const MAX_EVENTS = 500;

// The stages of a turn in order, with the marks that bound them
// (pipeline/timeline.go; docs/EVENTS.md "Turn stages").
const STAGES = [
  {stage: 'end_of_turn', from: 'speech_end', to: 'end_of_turn_decided', label: 'end of turn'},
  {stage: 'stt_final', from: 'end_of_turn_decided', to: 'final_transcript', label: 'STT final'},
  {stage: 'llm_first_token', from: 'final_transcript', to: 'llm_first_token', label: 'LLM first token'},
  {stage: 'first_sentence', from: 'llm_first_token', to: 'first_sentence', label: 'first sentence'},
  {stage: 'tts_first_audio', from: 'first_sentence', to: 'tts_first_audio', label: 'TTS first audio'},
  {stage: 'first_frame_out', from: 'tts_first_audio', to: 'first_frame_out', label: 'first frame out'},
];

export function callView(main, {id}) {
  const ctl = new AbortController();
  let st = null; // the call: the snapshot with later events applied
  let drawn = 0; // events already in the events table
  let pending = false;
  let tickAt = performance.now();

  const status = el('p', {class: 'muted small', id: 'stream-status'}, 'Connecting…');
  const header = el('section', {class: 'card call-header', id: 'call-header'});
  const transcript = el('div', {class: 'transcript', id: 'transcript'});
  const waterfall = el('div', {class: 'waterfall', id: 'waterfall'});
  const evBody = el('tbody');
  const evNote = el('p', {class: 'muted small'});
  main.append(
    el('p', {class: 'crumbs'}, el('a', {href: '#/'}, 'Live calls'), ' · ', el('a', {href: '#/recent'}, 'Recent calls')),
    header, status,
    el('div', {class: 'cols'},
      el('section', {class: 'card'}, el('h2', {}, 'Transcript'), transcript),
      el('section', {class: 'card'}, el('h2', {}, 'Turn latency'), waterfall)),
    el('section', {class: 'card'}, el('h2', {}, 'Events'), evNote,
      el('table', {class: 'events', id: 'events'},
        el('thead', {}, el('tr', {}, ['#', 'At', 'Time', 'Type', ''].map((h) => el('th', {}, h)))), evBody)));

  const schedule = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  };

  const apply = (e) => {
    if (st.events.some((x) => x.event_id === e.event_id)) return;
    st.events.push(e);
    if (st.events.length > MAX_EVENTS) { st.events.shift(); st.dropped_events++; if (drawn > 0) { drawn--; evBody.firstChild?.remove(); evBody.firstChild?.remove(); } }
    if (CONVERSATION.has(e.event_type)) st.conversation.push(e);
    const c = st.call, p = e.payload || {};
    c.events++;
    switch (e.event_type) {
      case 'call.state_changed': c.state = p.to; break;
      case 'turn.completed': c.turns++; break;
      case 'speech.partial': st.partial = e; break;
      case 'speech.transcribed': st.partial = null; break;
      case 'call.ended':
        st.ended = e; st.partial = null;
        Object.assign(c, {live: false, state: 'ended', reason: p.reason, duration_ms: p.duration_ms, ended_at: e.timestamp});
        break;
    }
    schedule();
  };

  stream('/v1/admin/dashboard/events?call=' + encodeURIComponent(id), (name, data) => {
    if (name === 'snapshot') {
      st = data;
      drawn = 0;
      evBody.replaceChildren();
      tickAt = performance.now();
      schedule();
    } else if (name === 'event' && st) {
      apply(data);
    } else if (name === 'overflow') {
      status.textContent = 'Fell behind; reloading…';
    }
  }, ctl.signal, (state, err) => {
    if (state === 'error') {
      status.textContent = '';
      main.replaceChildren(notice(err.message, 'error'), el('a', {href: '#/recent'}, 'Recent calls'));
    } else {
      status.textContent = state === 'open' ? '' : 'Reconnecting…';
    }
  });

  const tick = setInterval(() => {
    if (!st || !st.call.live) return;
    const d = header.querySelector('#call-duration');
    if (d) d.textContent = duration(st.call.duration_ms + performance.now() - tickAt);
  }, 1000);

  function draw() {
    if (!st) return;
    drawHeader();
    drawTranscript();
    drawWaterfall();
    drawEvents();
  }

  function drawHeader() {
    const c = st.call;
    const extra = c.live ? performance.now() - tickAt : 0;
    const field = (k, v, attrs = {}) => el('div', {class: 'field'}, el('span', {class: 'k'}, k), el('span', {class: 'v', ...attrs}, v));
    header.replaceChildren(
      el('h1', {}, 'Call ', el('span', {class: 'mono', id: 'call-id'}, c.call_id), ' ', el('span', {id: 'call-state'}, badge(c.state))),
      el('div', {class: 'fields'},
        field('Agent', c.agent_name ? `${c.agent_id} (${c.agent_name})` : c.agent_id),
        field('Transport', c.transport || '–'),
        field('From', c.from || '–'), field('To', c.to || '–'),
        field('Started', time(c.started_at)),
        field('Duration', duration(c.duration_ms + extra), {id: 'call-duration'}),
        field('Turns', c.turns),
        c.reason ? field('Ended', c.reason, {id: 'call-reason'}) : null));
  }

  function transcriptLines() {
    const lines = [];
    const tools = new Map();
    for (const e of st.conversation) {
      const p = e.payload || {};
      switch (e.event_type) {
        case 'speech.transcribed':
          if (p.text) lines.push({role: 'caller', text: p.text, at: e.timestamp});
          break;
        case 'agent.response':
          if (p.text) lines.push({role: 'agent', text: p.text, at: e.timestamp, scripted: p.scripted});
          break;
        case 'call.interrupted': {
          const last = [...lines].reverse().find((l) => l.role === 'agent');
          if (last) { last.interrupted = true; last.heard = p.played_text; }
          break;
        }
        case 'tool.called': {
          const line = {role: 'tool', text: `${p.name}(${JSON.stringify(p.arguments ?? {})})`, at: e.timestamp};
          tools.set(p.tool_call_id, line);
          lines.push(line);
          break;
        }
        case 'tool.completed': {
          const line = tools.get(p.tool_call_id);
          if (line) line.result = p.ok ? `ok in ${ms(p.duration_ms)}` : `failed in ${ms(p.duration_ms)}: ${p.error || ''}`;
          break;
        }
        case 'provider.error':
          lines.push({role: 'error', text: `${p.stage} ${p.provider}: ${p.error}`, at: e.timestamp});
          break;
        case 'provider.fallback':
          lines.push({role: 'note', text: `${p.stage}: ${p.from} → ${p.to}`, at: e.timestamp});
          break;
        case 'call.transferred':
          lines.push({role: 'note', text: `transferred to ${p.to}`, at: e.timestamp});
          break;
      }
    }
    // Older conversation events were dropped: call.ended has the whole text.
    if (st.dropped_conversation > 0 && st.ended && Array.isArray(st.ended.payload.transcript)) {
      return st.ended.payload.transcript.map((l) => ({role: l.role, text: l.text, interrupted: l.interrupted}));
    }
    if (st.partial && st.partial.payload.text) lines.push({role: 'caller', text: st.partial.payload.text, partial: true});
    return lines;
  }

  function drawTranscript() {
    const lines = transcriptLines();
    const who = {caller: 'Caller', agent: 'Agent', tool: 'Tool', error: 'Error', note: 'Note'};
    transcript.replaceChildren(...(lines.length === 0 ? [el('p', {class: 'muted'}, 'Nothing said yet.')] :
      lines.map((l) => el('div', {class: `line ${l.role}${l.partial ? ' partial' : ''}${l.interrupted ? ' interrupted' : ''}`},
        el('span', {class: 'who'}, who[l.role] || l.role),
        el('span', {class: 'text'}, l.text,
          l.result ? el('span', {class: 'muted'}, ' → ' + l.result) : null,
          l.interrupted ? el('span', {class: 'tag'}, l.heard ? `interrupted after “${l.heard}”` : 'interrupted') : null,
          l.partial ? el('span', {class: 'tag'}, 'hearing…') : null)))));
    if (st.call.live) transcript.scrollTop = transcript.scrollHeight;
  }

  function drawWaterfall() {
    const turns = st.conversation.filter((e) => e.event_type === 'turn.completed');
    const misses = new Set(st.conversation.filter((e) => e.event_type === 'turn.budget_exceeded')
      .map((e) => `${e.payload.turn}/${e.payload.stage}`));
    if (turns.length === 0) {
      waterfall.replaceChildren(el('p', {class: 'muted'}, 'No caller turn has completed yet.'));
      return;
    }
    const legend = el('div', {class: 'legend'}, el('span', {}, el('i', {class: 'wf-wait'}), 'endpointing silence'),
      STAGES.map((s) => el('span', {}, el('i', {class: 'st-' + s.stage}), s.label)));
    waterfall.replaceChildren(legend, ...turns.map((e) => {
      const p = e.payload || {}, marks = p.marks || {}, lat = p.latency_ms || {};
      const t0 = marks.speech_end, t1 = marks.first_frame_out;
      const span = (t0 !== undefined && t1 !== undefined) ? Math.max(t1 - t0, 1) :
        Math.max(1, ...STAGES.map((s) => (marks[s.to] ?? 0) - (t0 ?? 0)));
      const pct = (x) => (100 * x / span).toFixed(2) + '%';
      const rows = STAGES.filter((s) => marks[s.from] !== undefined && marks[s.to] !== undefined).map((s) => {
        const a = marks[s.from] - t0, b = marks[s.to] - t0;
        const miss = misses.has(`${p.turn}/${s.stage}`);
        const value = lat[s.stage] ?? (b - a);
        // end_of_turn's number leaves out the endpointing silence the
        // detector waits by design; its bar shows that wait hatched.
        const wait = s.stage === 'end_of_turn' ? Math.max(0, b - a - value) : 0;
        const bars = [];
        if (wait > 0) bars.push(el('span', {class: 'wf-bar wf-wait', style: {left: pct(a), width: pct(wait)}}));
        bars.push(el('span', {class: 'wf-bar st-' + s.stage, style: {left: pct(a + wait), width: pct(b - a - wait)}}));
        return el('div', {class: 'wf-row' + (miss ? ' miss' : ''), dataset: {stage: s.stage},
          title: `${s.label}: ${ms(value)}${wait ? ` after ${ms(wait)} of endpointing silence` : ''}${miss ? ' (over budget)' : ''}`},
          el('span', {class: 'wf-label'}, s.label), el('span', {class: 'wf-track'}, bars), el('span', {class: 'wf-ms'}, ms(value)));
      });
      return el('div', {class: 'wf-turn', dataset: {turn: p.turn}},
        el('div', {class: 'wf-head'}, el('strong', {}, `Turn ${p.turn}`),
          ` · response ${ms(lat.response)}`, p.interrupted ? el('span', {class: 'tag'}, 'interrupted') : null,
          p.tool_rounds ? el('span', {class: 'tag'}, `${p.tool_rounds} tool round${p.tool_rounds > 1 ? 's' : ''}`) : null),
        rows.length ? rows : el('p', {class: 'muted small'}, 'No timeline for this turn.'));
    }));
  }

  function drawEvents() {
    const t0 = st.started ? Date.parse(st.started.timestamp) : 0;
    evNote.textContent = st.dropped_events > 0 ? `The ${st.dropped_events} oldest events are no longer kept.` : 'Click an event to see its payload.';
    for (const e of st.events.slice(drawn)) {
      const pre = el('pre', {class: 'payload'}, JSON.stringify(e.payload, null, 2));
      const detail = el('tr', {class: 'detail', hidden: true}, el('td', {colspan: 5}, pre));
      const row = el('tr', {class: 'ev', dataset: {type: e.event_type}, onclick: () => { detail.hidden = !detail.hidden; }},
        el('td', {class: 'num'}, e.sequence), el('td', {class: 'num'}, '+' + ((Date.parse(e.timestamp) - t0) / 1000).toFixed(3) + 's'),
        el('td', {}, time(e.timestamp)), el('td', {class: 'mono'}, e.event_type), el('td', {class: 'muted'}, '▸'));
      evBody.append(row, detail);
    }
    drawn = st.events.length;
  }

  return () => { ctl.abort(); clearInterval(tick); };
}
