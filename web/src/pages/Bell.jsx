// The notification bell: the unread count, updated live over the WebSocket.
import { useEffect, useState } from 'react';
import { api } from '../api.js';
import { connectHub } from '../ws.js';

export default function Bell({ user }) {
  const [unread, setUnread] = useState(0);
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState([]);
  const [live, setLive] = useState('');
  const [err, setErr] = useState('');
  useEffect(() => {
    const hub = connectHub(user);
    // the count on every (re)connection: pushes sent while away are not replayed
    const offState = hub.onState((s) => {
      if (s === 'open') api('/v1/notifications/unread_count').then((r) => setUnread(r.unread || 0), () => {});
    });
    const off = hub.subscribe((m) => {
      if (m.ch === 'notify' && m.type === 'notification') {
        setUnread((u) => u + 1);
        setItems((it) => [m.notification, ...it]);
        setLive(m.notification?.title || 'New notification');
      }
    });
    return () => { off(); offState(); };
  }, [user]);
  const toggleOpen = () => {
    const next = !open;
    setOpen(next);
    if (next) api('/v1/notifications?limit=10').then((r) => { setItems(r.items || []); setErr(''); }, (e) => setErr(e.message));
  };
  const readAll = async () => {
    try { await api('/v1/notifications/read_all', { method: 'POST' }); setUnread(0); setErr(''); } catch (e) { setErr(e.message); }
  };
  return (
    <div className="bell">
      <button type="button" aria-expanded={open} aria-controls="notif-panel" onClick={toggleOpen}
        aria-label={`Notifications, ${unread} unread`}>
        <svg aria-hidden="true" width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2"><path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" /><path d="M13.7 21a2 2 0 0 1-3.4 0" /></svg>{unread > 0 && <span className="badge" data-testid="unread">{unread}</span>}
      </button>
      <span className="visually-hidden" aria-live="polite">{live}</span>
      {open && (
        <div id="notif-panel" className="panel" role="region" aria-label="Notifications">
          {err && <p className="error" role="alert">{err}</p>}
          {items.length === 0 ? <p>No notifications.</p> : (
            <ul>{items.map((n, i) => <li key={n.id || i}><strong>{n.title}</strong><br />{n.body}</li>)}</ul>
          )}
          {unread > 0 && <button type="button" onClick={readAll}>Mark all read</button>}
        </div>
      )}
    </div>
  );
}
