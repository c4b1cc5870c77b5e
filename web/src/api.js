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

// ---- the session: a short-lived access token, renewed with the refresh token ----
// Refresh tokens are single use and a reused one revokes the whole family
// (auth's reuse detection), so one refresh runs at a time: per tab (a shared
// promise) and across tabs (a Web Lock, when the browser has them), and a
// caller whose token another refresh already replaced just takes the new one.
export const EXPIRED = 'rentezy:session-expired';
let refreshing = null;

export function sessionFromTokens(t, user, now = Date.now()) {
  return { token: t.access_token, refresh: t.refresh_token, exp: now + (t.expires_in || 900) * 1000,
    ttl: (t.expires_in || 900) * 1000, id: user.id, name: user.name, role: user.role };
}

// Renew a quarter of the lifetime (at most 30 s) before it ends.
export function needsRefresh(s, now = Date.now()) {
  return !!(s && s.refresh && s.exp && s.exp - now < Math.min(30000, (s.ttl || 900000) / 4));
}

export function refreshSession(stale) {
  if (refreshing) return refreshing;
  const run = async () => {
    const s = session.get();
    if (!s?.refresh) return null;
    if (s.token !== stale && !needsRefresh(s)) return s; // already renewed (another tab)
    let res;
    try {
      res = await fetch('/v1/auth/refresh', { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ refresh_token: s.refresh }) });
    } catch { return null; } // offline: keep the session, the call fails and says so
    if (!res.ok) {
      if (res.status === 400 || res.status === 401) { session.set(null); dispatchEvent(new Event(EXPIRED)); }
      return null;
    }
    const ns = { ...s, ...sessionFromTokens(await res.json(), s) };
    session.set(ns);
    return ns;
  };
  refreshing = (async () => {
    try { return navigator.locks ? await navigator.locks.request('rentezy-refresh', run) : await run(); } finally { refreshing = null; }
  })();
  return refreshing;
}

// A usable access token for the session (renewed first when about to end).
export async function freshToken() {
  const s = session.get();
  if (!s) return null;
  if (!needsRefresh(s)) return s.token;
  return (await refreshSession(s.token))?.token ?? null;
}

// body: JSON unless `raw` (a Blob or File, sent as is with its type);
// headers: extra ones (If-Match, Idempotency-Key); text: answer the text;
// token: this one instead of the session's (no renewal).
export async function api(path, { method = 'GET', body, token, raw, headers: extra = {}, text: asText = false } = {}, retried = false) {
  const headers = { Accept: asText ? '*/*' : 'application/json', ...extra };
  const t = token ?? (await freshToken());
  if (t) headers.Authorization = 'Bearer ' + t;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (raw) headers['Content-Type'] = raw.type || 'application/octet-stream';
  let res;
  try {
    res = await fetch(path, { method, headers, body: raw || (body === undefined ? undefined : JSON.stringify(body)) });
  } catch (err) {
    throw new ApiError(0, { error: { code: 'network', message: 'The server cannot be reached: ' + err.message } });
  }
  // an access token refused (expired early, revoked, clock skew): renew once and resend
  if (res.status === 401 && !token && t && !retried && session.get()?.refresh) {
    const ns = await refreshSession(t);
    if (ns) return api(path, { method, body, raw, headers: extra, text: asText }, true);
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

// getToken: async () => the access token to connect with (renewed when due:
// the host closes a socket when its token expires, and it reconnects).
export function openSocket(getToken, onMessage, onState) {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/ws';
  let ws, closed = false, delay = 500, opened = true, last = null;
  const connect = async () => {
    // a socket that closed before it opened was most likely refused (a
    // browser does not show the 401): renew the token, in case that was why
    const token = (!opened && last ? (await refreshSession(last))?.token : null) || (await getToken());
    if (closed) return;
    if (!token) { onState?.('closed', null); return; }
    last = token;
    opened = false;
    ws = new WebSocket(url, ['bearer', 'bearer.' + token]);
    ws.onopen = () => { delay = 500; opened = true; onState?.('open', ws); };
    ws.onmessage = (ev) => { try { onMessage(JSON.parse(ev.data)); } catch { /* not JSON */ } };
    ws.onclose = () => {
      onState?.('closed', ws);
      if (!closed) setTimeout(connect, (delay = Math.min(delay * 2, 15000)));
    };
  };
  connect();
  return () => { closed = true; ws?.close(); };
}
