// A listing: photos, details, the calendar, booking it, a viewing, a message.
import { useEffect, useState } from 'react';
import { api, fieldErrors, newId } from '../api.js';
import { bookingBody, nightsBetween, todayISO, validateBooking } from '../lib/booking.js';
import { stayIsFree } from '../lib/calendar.js';
import { formatMoney } from '../lib/money.js';
import { label } from '../lib/search.js';
import { Field, FormError, Link, go } from '../ui.jsx';
import Calendar, { useTaken } from './Calendar.jsx';
import Hold from './Hold.jsx';

export default function ListingPage({ id, me }) {
  const [p, setP] = useState(null);
  const [loadErr, setLoadErr] = useState(null);
  const [f, setF] = useState({ check_in: '', check_out: '', guests: '1' });
  const [err, setErr] = useState({});
  const [booking, setBooking] = useState(null);
  const [busy, setBusy] = useState(false);
  const [idem, setIdem] = useState(newId);
  const [calKey, setCalKey] = useState(0);
  const [taken, calErr] = useTaken(id, calKey);
  useEffect(() => { api('/v1/properties/' + id).then(setP, (e) => setLoadErr(e.message)); }, [id]);
  if (loadErr) return <p className="error" role="alert">{loadErr}</p>;
  if (!p) return <p>Loading…</p>;
  const today = todayISO();
  const set = (k) => (e) => { setF({ ...f, [k]: e.target.value }); setErr((x) => ({ ...x, [k]: undefined, _: undefined })); };
  const pick = (d) => {
    if (!f.check_in || f.check_out || d <= f.check_in) setF({ ...f, check_in: d, check_out: '' });
    else setF({ ...f, check_out: d });
    setErr({});
  };
  const nights = nightsBetween(f.check_in, f.check_out);
  const submit = async (e) => {
    e.preventDefault();
    const v = validateBooking(f, p, today);
    if (!v.check_in && !v.check_out && !stayIsFree(taken, f.check_in, f.check_out)) v.check_out = 'Some of these nights are taken: see the calendar';
    setErr(v);
    if (Object.keys(v).length) return;
    setBusy(true);
    try {
      setBooking(await api('/v1/bookings', { method: 'POST', body: bookingBody(id, f), headers: { 'Idempotency-Key': idem } }));
      setCalKey((k) => k + 1);
    } catch (ex) {
      setErr(fieldErrors(ex, ['check_in', 'check_out', 'guests', 'property_id']));
      setIdem(newId());
    } finally {
      setBusy(false);
    }
  };
  const photos = p.photos || [];
  const tenant = me?.role === 'tenant';
  return (
    <article className="listing">
      <h1>{p.title}</h1>
      <p className="muted">{label(p.property_type || 'home')} · {p.address?.city}, {p.address?.country}</p>
      {photos.length > 0 && (
        <div className="photos" role="region" aria-label="Photos" tabIndex={0}>
          {photos.map((ph, i) => <img key={ph.id || i} src={ph.url || `/media/${ph.hash}`} alt={ph.caption || `Photo ${i + 1} of ${p.title}`} />)}
        </div>
      )}
      <div className="layout">
        <section>
          <p>{p.description}</p>
          <ul className="facts">
            <li>{p.bedrooms} bedrooms</li><li>{p.beds} beds</li><li>{p.bathrooms} bathrooms</li><li>Up to {p.max_guests} guests</li>
            <li>{p.min_nights}–{p.max_nights} nights</li><li>Cancellation: {p.cancellation_policy}</li>
          </ul>
          <h2>Amenities</h2>
          <ul className="tags">{(p.amenities || []).map((a) => <li key={a}>{label(a)}</li>)}</ul>
          <Calendar taken={taken} err={calErr} today={today} onPick={tenant && !booking ? pick : undefined} from={f.check_in} to={f.check_out} />
          {tenant && <Viewings propertyId={id} />}
          {tenant && <MessageLandlord propertyId={id} />}
        </section>
        <aside className="book" aria-label="Book">
          <p className="price"><strong>{formatMoney(p.nightly_price)}</strong> / night</p>
          {booking ? <Hold booking={booking} /> : tenant ? (
            <form onSubmit={submit} noValidate>
              <FormError error={err._ || err.property_id} />
              <Field label="Check-in" error={err.check_in}>{(pp) => <input {...pp} type="date" min={today} value={f.check_in} onChange={set('check_in')} />}</Field>
              <Field label="Check-out" error={err.check_out}>{(pp) => <input {...pp} type="date" min={f.check_in || today} value={f.check_out} onChange={set('check_out')} />}</Field>
              <Field label="Guests" error={err.guests}>{(pp) => <input {...pp} type="number" min="1" max={p.max_guests} value={f.guests} onChange={set('guests')} />}</Field>
              {nights > 0 && p.nightly_price && (
                <p>{nights} nights × {formatMoney(p.nightly_price)} = <strong>{formatMoney({ amount: nights * p.nightly_price.amount, currency: p.nightly_price.currency })}</strong></p>
              )}
              <button type="submit" disabled={busy}>{p.instant_book ? 'Book now' : 'Request to book'}</button>
            </form>
          ) : (
            <p><Link to="/app/login">Log in as a tenant</Link> to book.</p>
          )}
        </aside>
      </div>
    </article>
  );
}

const when = (iso) => new Date(iso).toLocaleString('en-IE', { dateStyle: 'medium', timeStyle: 'short' });

// The landlord's viewing slots ahead; a tenant asks for one.
function Viewings({ propertyId }) {
  const [slots, setSlots] = useState(null);
  const [msg, setMsg] = useState('');
  const [err, setErr] = useState('');
  const load = () => api(`/v1/properties/${propertyId}/slots`).then((r) => setSlots(r.items || []), (e) => setErr(e.message));
  useEffect(() => { load(); }, [propertyId]); // eslint-disable-line react-hooks/exhaustive-deps
  const ask = async (s) => {
    setErr(''); setMsg('');
    try {
      await api(`/v1/slots/${s.id}/visits`, { method: 'POST' });
      setMsg(`Viewing on ${when(s.starts_at)} requested: the landlord confirms it.`);
      load();
    } catch (e) { setErr(e.message); }
  };
  return (
    <section aria-labelledby="view-h">
      <h2 id="view-h">Viewings</h2>
      {err && <p className="error" role="alert">{err}</p>}
      <p role="status" className="ok">{msg}</p>
      {slots && slots.length === 0 && <p>No viewing times are offered yet.</p>}
      <ul className="slots">
        {(slots || []).map((s) => (
          <li key={s.id}>
            {when(s.starts_at)} – {new Date(s.ends_at).toLocaleTimeString('en-IE', { timeStyle: 'short' })}{' '}
            {s.available === false ? <span className="muted">(taken)</span>
              : <button type="button" onClick={() => ask(s)}>Request viewing on {when(s.starts_at)}</button>}
          </li>
        ))}
      </ul>
    </section>
  );
}

function MessageLandlord({ propertyId }) {
  const [err, setErr] = useState('');
  const start = async () => {
    setErr('');
    try {
      const c = await api('/v1/chat/conversations', { method: 'POST', body: { property_id: propertyId } });
      go('/app/chat/' + c.id);
    } catch (e) { setErr(e.message); }
  };
  return (
    <p>
      <button type="button" onClick={start}>Message the landlord</button>
      {err && <small className="error" role="alert"> {err}</small>}
    </p>
  );
}
