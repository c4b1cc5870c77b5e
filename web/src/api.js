// The public API (/v1/..., /v1/ws), the same one /openapi.json documents.
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || 'http_' + status;
    this.field = e.field || null;
  }
}

const KEY = 'rentezy.session';
export const session = {
  get() {
    try { return JSON.parse(localStorage.getItem(KEY)) || null; } catch { return null; }
  },
  set(s) { if (s) localStorage.setItem(KEY, JSON.stringify(s)); else localStorage.removeItem(KEY); },
};

export async function api(path, { method = 'GET', body, token } = {}) {
  const headers = { Accept: 'application/json' };
  const t = token ?? session.get()?.token;
  if (t) headers.Authorization = 'Bearer ' + t;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, { error: { code: 'network', message: 'The server cannot be reached: ' + err.message } });
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

// Errors keyed by the field they concern; the rest under "_".
export function fieldErrors(err, known = []) {
  if (!(err instanceof ApiError)) return { _: String(err?.message || err) };
  const f = err.field && known.find((k) => err.field === k || err.field.startsWith(k + '.') || err.field.endsWith('.' + k));
  return f ? { [f]: err.message } : { _: err.message };
}

export function openSocket(token, onMessage, onState) {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/ws';
  let ws, closed = false, delay = 500;
  const connect = () => {
    ws = new WebSocket(url, ['bearer', 'bearer.' + token]);
    ws.onopen = () => { delay = 500; onState?.('open'); };
    ws.onmessage = (ev) => { try { onMessage(JSON.parse(ev.data)); } catch { /* not JSON */ } };
    ws.onclose = () => {
      onState?.('closed');
      if (!closed) setTimeout(connect, (delay = Math.min(delay * 2, 15000)));
    };
  };
  connect();
  return () => { closed = true; ws?.close(); };
}
