// The dashboard's client of the admin API: the token, JSON requests and
// event streams. The token lives in sessionStorage (this tab only) and goes
// out only in the Authorization header, never in a URL.

const KEY = 'parley.admin_token';

export function token() { return sessionStorage.getItem(KEY) || ''; }
export function setToken(t) { sessionStorage.setItem(KEY, t); }
export function forgetToken() { sessionStorage.removeItem(KEY); }

// APIError is a refused or failed request, with the server's message.
export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let onUnauthorized = () => {};
// whenUnauthorized sets what happens when the server refuses the token.
export function whenUnauthorized(fn) { onUnauthorized = fn; }

async function failure(res) {
  let code = 'http_' + res.status, message = res.status + ' ' + res.statusText;
  try {
    const body = await res.json();
    if (body && body.error) { code = body.code || code; message = body.error; }
  } catch (_) { /* not JSON */ }
  const err = new APIError(res.status, code, message);
  if (res.status === 401 || res.status === 403) onUnauthorized(err);
  return err;
}

// api sends one request to the admin API and returns its JSON answer.
export async function api(path, {method = 'GET', body, signal} = {}) {
  const headers = {'Authorization': 'Bearer ' + token(), 'Accept': 'application/json'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {method, headers, signal, cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body)});
  if (!res.ok) throw await failure(res);
  return res.json();
}

// stream reads a text/event-stream with fetch (EventSource cannot send an
// Authorization header) and calls onMessage(name, data) for each message. It
// reconnects after a drop until signal is aborted; onOpen runs on each
// (re)connection before its first message.
export async function stream(path, onMessage, signal, onState = () => {}) {
  while (!signal.aborted) {
    try {
      const res = await fetch(path, {headers: {'Authorization': 'Bearer ' + token(), 'Accept': 'text/event-stream'},
        signal, cache: 'no-store'});
      if (!res.ok) throw await failure(res);
      onState('open');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let name = 'message', data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) name = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) onMessage(name, JSON.parse(data));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof APIError && err.status !== 429 && err.status < 500) { onState('error', err); return; }
    }
    if (signal.aborted) return;
    onState('reconnecting');
    await new Promise((ok) => setTimeout(ok, 2000));
  }
}
