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

// body: JSON unless `raw` (a Blob or File, sent as is with its type);
// headers: extra ones (If-Match, Idempotency-Key); text: answer the text.
export async function api(path, { method = 'GET', body, token, raw, headers: extra = {}, text: asText = false } = {}) {
  const headers = { Accept: asText ? '*/*' : 'application/json', ...extra };
  const t = token ?? session.get()?.token;
  if (t) headers.Authorization = 'Bearer ' + t;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (raw) headers['Content-Type'] = raw.type || 'application/octet-stream';
  let res;
  try {
    res = await fetch(path, { method, headers, body: raw || (body === undefined ? undefined : JSON.stringify(body)) });
  } catch (err) {
    throw new ApiError(0, { error: { code: 'network', message: 'The server cannot be reached: ' + err.message } });
  }
  const text = await res.text();
  if (asText && res.ok) return text;
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

// A listing's ETag for If-Match (property requires it on every change).
export const ifMatch = (p) => ({ 'If-Match': `"${p.id}.${p.version}"` });

// A fresh id for Idempotency-Key and chat's client_msg_id.
export const newId = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));

export function openSocket(token, onMessage, onState) {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/ws';
  let ws, closed = false, delay = 500;
  const connect = () => {
    ws = new WebSocket(url, ['bearer', 'bearer.' + token]);
    ws.onopen = () => { delay = 500; onState?.('open', ws); };
    ws.onmessage = (ev) => { try { onMessage(JSON.parse(ev.data)); } catch { /* not JSON */ } };
    ws.onclose = () => {
      onState?.('closed', ws);
      if (!closed) setTimeout(connect, (delay = Math.min(delay * 2, 15000)));
    };
  };
  connect();
  return () => { closed = true; ws?.close(); };
}
