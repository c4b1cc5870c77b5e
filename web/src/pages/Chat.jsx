// Chat between a tenant and a landlord, live over the WebSocket channel
// "chat" (docs/decisions/0011-chat.md): history by REST, sends, acks,
// pushes, read positions and presence on the socket, resume after a
// reconnect.
import { useEffect, useRef, useState } from 'react';
import { api, newId, session } from '../api.js';
import { lastContiguous, mergeMessages } from '../lib/chat.js';
import { connectHub } from '../ws.js';
import { Field, Link } from '../ui.jsx';

function useTitles(ids) {
  const [titles, setTitles] = useState({});
  const key = ids.join(',');
  useEffect(() => {
    for (const id of ids) if (!titles[id]) api('/v1/properties/' + id).then((p) => setTitles((t) => ({ ...t, [id]: p.title })), () => {});
  }, [key]); // eslint-disable-line react-hooks/exhaustive-deps
  return titles;
}

export default function ChatPage({ id, me }) {
  const [convs, setConvs] = useState(null);
  const [err, setErr] = useState('');
  const [online, setOnline] = useState({});
  const titles = useTitles((convs || []).map((c) => c.property_id));
  const load = () => api('/v1/chat/conversations?limit=50').then((r) => {
    setConvs(r.items || []);
    setOnline((o) => ({ ...Object.fromEntries((r.items || []).map((c) => [c.other_id, !!c.other_online])), ...o }));
  }, (e) => setErr(e.message));
  useEffect(() => { load(); }, [id]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => connectHub(me.id).subscribe((m) => {
    if (m.ch !== 'chat') return;
    if (m.type === 'presence') setOnline((o) => ({ ...o, [m.user_id]: m.status === 'online' }));
    if (m.type === 'message' && m.conversation_id !== id) load();
  }), [me.id, id]); // eslint-disable-line react-hooks/exhaustive-deps
  const cur = (convs || []).find((c) => c.id === id);
  return (
    <div className="chat">
      <h1>Messages</h1>
      {err && <p className="error" role="alert">{err}</p>}
      <div className="chat-layout">
        <nav aria-label="Conversations" className="convs">
          {convs && convs.length === 0 && <p>No conversations yet: open a listing and message its landlord.</p>}
          <ul>{(convs || []).map((c) => (
            <li key={c.id} className={c.id === id ? 'current' : ''}>
              <Link to={`/app/chat/${c.id}`} aria-current={c.id === id ? 'page' : undefined}>
                {titles[c.property_id] || 'A listing'}{c.unread > 0 && c.id !== id ? ` (${c.unread} unread)` : ''}
              </Link>
              <br /><small className="muted">{c.last_message?.body?.slice(0, 60) || c.last_message?.preview || ''}</small>
            </li>
          ))}</ul>
        </nav>
        {id ? <Conversation key={id} id={id} me={me} conv={cur} title={titles[cur?.property_id]} online={cur ? online[cur.other_id] : false} />
          : <p>Choose a conversation.</p>}
      </div>
    </div>
  );
}

function Conversation({ id, me, conv, title, online }) {
  const [msgs, setMsgs] = useState([]);
  const [text, setText] = useState('');
  const [err, setErr] = useState('');
  const [state, setState] = useState('connecting');
  const last = useRef(0);
  const list = useRef(null);
  const hub = connectHub(me.id);
  useEffect(() => {
    api(`/v1/chat/conversations/${id}/messages?limit=50`).then((r) => setMsgs((m) => mergeMessages(m, r.items || [])), (e) => setErr(e.message));
  }, [id]);
  useEffect(() => { last.current = lastContiguous(msgs); }, [msgs]);
  useEffect(() => {
    let first = true;
    const offState = hub.onState((s) => {
      setState(s);
      // after a reconnect, ask for what was missed
      if (s === 'open' && !first) hub.send({ ch: 'chat', type: 'resume', positions: { [id]: last.current } });
      if (s === 'open') first = false;
    });
    const off = hub.subscribe((m) => {
      if (m.ch !== 'chat' || m.conversation_id !== id) return;
      if (m.type === 'message') {
        setMsgs((l) => mergeMessages(l, [m]));
        if (m.sender_id !== me.id) hub.send({ ch: 'chat', type: 'read', conversation_id: id, seq: m.seq });
      } else if (m.type === 'ack') {
        setMsgs((l) => (l.some((x) => !x.pending && x.client_msg_id === m.client_msg_id)
          ? l.filter((x) => !(x.pending && x.client_msg_id === m.client_msg_id))
          : mergeMessages(l.filter((x) => x.client_msg_id !== m.client_msg_id),
            l.filter((x) => x.client_msg_id === m.client_msg_id).map((x) => ({ ...x, seq: m.seq, id: m.id })))));
      } else if (m.type === 'error') {
        setErr(m.message || m.code);
        if (m.client_msg_id) setMsgs((l) => l.map((x) => (x.client_msg_id === m.client_msg_id ? { ...x, failed: true } : x)));
      } else if (m.type === 'message_ref') {
        api(`/v1/chat/conversations/${id}/messages?limit=50`).then((r) => setMsgs((l) => mergeMessages(l, r.items || [])), (e) => setErr(e.message));
      }
    });
    return () => { off(); offState(); };
  }, [id]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    const top = msgs[msgs.length - 1];
    if (top && top.sender_id !== me.id && Number.isInteger(top.seq)) hub.send({ ch: 'chat', type: 'read', conversation_id: id, seq: top.seq });
    list.current?.scrollTo?.(0, list.current.scrollHeight);
  }, [msgs.length]); // eslint-disable-line react-hooks/exhaustive-deps
  const send = (e) => {
    e.preventDefault();
    const body = text.trim();
    if (!body) { setErr('Write a message first'); return; }
    if (new TextEncoder().encode(body).length > 4096) { setErr('A message is at most 4 KiB'); return; }
    const cid = newId();
    setErr('');
    // shown at once, greyed until the ack (a pending message has no seq yet)
    setMsgs((l) => [...l, { client_msg_id: cid, body, sender_id: me.id, pending: true, seq: Number.MAX_SAFE_INTEGER - l.length }]);
    hub.send({ ch: 'chat', type: 'send', conversation_id: id, client_msg_id: cid, body });
    setText('');
  };
  const mine = (m) => m.sender_id === me.id || m.sender_id === session.get()?.id;
  return (
    <section className="conversation" aria-labelledby="conv-h">
      <h2 id="conv-h">{title || 'Conversation'} <small className="muted">{online ? '· online' : '· offline'}{state !== 'open' ? ' · reconnecting…' : ''}</small></h2>
      <ol className="messages" ref={list} aria-live="polite" aria-label="Message history">
        {msgs.filter((m) => !(m.pending && msgs.some((x) => !x.pending && x.client_msg_id === m.client_msg_id))).map((m) => (
          <li key={m.client_msg_id || m.seq} className={(mine(m) ? 'mine' : 'theirs') + (m.pending ? ' pending' : '') + (m.failed ? ' failed' : '')}>
            <span className="visually-hidden">{mine(m) ? 'You' : conv?.other_id ? 'They' : ''}: </span>{m.body}
            {m.failed && <small className="error"> not sent</small>}
          </li>
        ))}
      </ol>
      <form onSubmit={send} noValidate className="composer">
        <Field label="Message" error={err}>
          {(p) => <textarea {...p} rows={2} value={text} onChange={(e) => setText(e.target.value)}
            onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey) send(e); }} />}
        </Field>
        <button type="submit">Send</button>
      </form>
    </section>
  );
}
