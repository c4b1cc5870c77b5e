// One WebSocket (/v1/ws) per signed-in tab, shared by the bell, the chat and
// the booking panel: listeners subscribe; sends wait for the connection.
import { freshToken, openSocket } from './api.js';

let hub = null;

// user: whose socket (a new user gets a new one); the token is read, and
// renewed, at every (re)connection.
export function connectHub(user) {
  if (hub && hub.user === user) return hub;
  hub?.close();
  const listeners = new Set(), stateListeners = new Set();
  let state = 'connecting', queue = [], sock = null;
  const h = {
    user,
    get state() { return state; },
    subscribe(fn) { listeners.add(fn); return () => listeners.delete(fn); },
    onState(fn) { stateListeners.add(fn); fn(state); return () => stateListeners.delete(fn); },
    send(obj) {
      if (state === 'open' && sock?.readyState === 1) sock.send(JSON.stringify(obj));
      else queue.push(obj);
    },
    close: null,
  };
  h.close = openSocket(freshToken, (m) => listeners.forEach((fn) => fn(m)), (s, ws) => {
    state = s;
    sock = ws;
    if (s === 'open') { const q = queue; queue = []; q.forEach((o) => ws.send(JSON.stringify(o))); }
    stateListeners.forEach((fn) => fn(s));
  });
  hub = h;
  return h;
}

export function closeHub() { hub?.close(); hub = null; }
