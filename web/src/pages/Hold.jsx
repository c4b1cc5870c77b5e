// A booking after it is made: the hold counting down, paying with a sandbox
// test card, and the confirmation arriving live (booking's answer to the
// payment comes as a notification over the WebSocket; the booking is then
// read again).
import { useEffect, useRef, useState } from 'react';
import { api, fieldErrors, newId, session } from '../api.js';
import { cardToken, TEST_CARDS } from '../lib/cards.js';
import { idemKey as payKey } from '../lib/idem.js';
import { remaining, spoken } from '../lib/countdown.js';
import { formatMoney } from '../lib/money.js';
import { label } from '../lib/search.js';
import { connectHub } from '../ws.js';
import { Field, Link } from '../ui.jsx';

// One Idempotency-Key per payment attempt (lib/idem.js).
export const idemKey = (ref, body) => payKey(ref, body, newId);

export function useNow(every = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => { const t = setInterval(() => setNow(Date.now()), every); return () => clearInterval(t); }, [every]);
  return now;
}

export function Countdown({ expiresAt, onExpire }) {
  const now = useNow(1000);
  const r = remaining(expiresAt, now);
  useEffect(() => { if (r.expired) onExpire?.(); }, [r.expired]); // eslint-disable-line react-hooks/exhaustive-deps
  if (!r.text) return null;
  return (
    <p className="countdown">
      <span aria-hidden="true">Held for <strong data-testid="countdown">{r.text}</strong></span>
      <span className="visually-hidden">{spoken(r.ms)}</span>
    </p>
  );
}

// Read the booking again whenever something may have changed it: a
// notification on the socket, and every 20 s (when notify is not running;
// while it waits for someone else: a safety net, not the way it arrives).
function useLiveBooking(initial) {
  const [b, setB] = useState(initial);
  useEffect(() => setB(initial), [initial]);
  const waiting = b && ['requested', 'pending_payment'].includes(b.status);
  useEffect(() => {
    if (!b?.id) return undefined;
    // a failed re-read keeps what is shown; the next notification or poll tries again
    const reload = () => api('/v1/bookings/' + b.id).then(setB, () => {});
    const user = session.get()?.id;
    const hub = user ? connectHub(user) : null;
    const off = hub ? hub.subscribe((m) => { if (m.ch === 'notify') reload(); }) : () => {};
    let first = true; // and after a reconnection (what was pushed meanwhile is lost)
    const offState = hub ? hub.onState((s) => { if (s === 'open' && !first) reload(); if (s === 'open') first = false; }) : () => {};
    const t = waiting ? setInterval(reload, 20000) : null;
    return () => { off(); offState(); if (t) clearInterval(t); };
  }, [b?.id, waiting]);
  return [b, setB];
}

export default function Hold({ booking: initial }) {
  const [b, setB] = useLiveBooking(initial);
  const [card, setCard] = useState('');
  const [err, setErr] = useState({});
  const [pay, setPay] = useState(null);
  const [busy, setBusy] = useState(false);
  const idem = useRef(null); // one key per payment; kept only to resend after a network error
  if (!b) return null;
  const submit = async (e) => {
    e.preventDefault();
    const c = cardToken(card);
    if (c.error) { setErr({ card: c.error }); return; }
    setErr({}); setBusy(true);
    try {
      const body = { purpose: 'booking', booking_id: b.id, payment_method: c.token };
      const p = await api('/v1/payments', { method: 'POST', headers: { 'Idempotency-Key': idemKey(idem, body) }, body });
      idem.current = null; // answered: a new attempt is a new payment
      setPay(p);
      if (p.status === 'failed') setErr({ card: `The card was refused (${label(p.failure_code || p.code || 'failed')})` });
      api('/v1/bookings/' + b.id).then(setB, () => {});
    } catch (ex) {
      if (ex.status !== 0) idem.current = null;
      const fe = fieldErrors(ex, ['payment_method', 'booking_id']);
      setErr({ card: fe.payment_method || fe.booking_id || fe._ });
    } finally {
      setBusy(false);
    }
  };
  const heading = {
    confirmed: 'Booking confirmed', pending_payment: 'Dates held: pay to confirm', requested: 'Booking requested',
    expired: 'The hold expired', declined: 'Request declined', cancelled: 'Booking cancelled',
  }[b.status] || label(b.status);
  return (
    <div className="hold" role="status" aria-live="polite">
      <h2>{heading}</h2>
      <p>Status: <strong>{label(b.status)}</strong></p>
      <p>{b.check_in} → {b.check_out}, {b.guests} guests</p>
      {b.total && <p>Total: <strong>{formatMoney(b.total)}</strong></p>}
      {b.status === 'requested' && <p>The landlord answers your request; you will be told here and in the notifications.</p>}
      {b.status === 'pending_payment' && b.expires_at && <Countdown expiresAt={b.expires_at} onExpire={() => api('/v1/bookings/' + b.id).then(setB, () => {})} />}
      {b.status === 'pending_payment' && (!pay || pay.status === 'failed') && (
        <form onSubmit={submit} noValidate className="pay">
          <Field label="Card number" error={err.card} hint={`Sandbox: ${TEST_CARDS[0].number} succeeds, ${TEST_CARDS[1].number} is declined`}>
            {(p) => <input {...p} inputMode="numeric" autoComplete="cc-number" value={card} onChange={(e) => setCard(e.target.value)} />}
          </Field>
          <button type="submit" disabled={busy}>Pay {formatMoney(b.total)}</button>
        </form>
      )}
      {pay && pay.status !== 'failed' && b.status === 'pending_payment' && <p>Payment {pay.status === 'pending' ? 'sent' : 'received'}; waiting for the confirmation…</p>}
      <Link to="/app/bookings">See my bookings</Link>
    </div>
  );
}
