// Bookings and viewings: a tenant's own, a landlord's of their listings.
// Cancelling shows the refund first; a landlord accepts or declines requests.
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.js';
import { formatMoney } from '../lib/money.js';
import { refundPreview } from '../lib/refund.js';
import { label } from '../lib/search.js';
import { Link } from '../ui.jsx';
import Hold from './Hold.jsx';

export default function BookingsPage({ me }) {
  return (
    <section>
      <h1>Bookings</h1>
      <BookingTable me={me} />
      <Visits me={me} />
    </section>
  );
}

// propertyId: only that listing's bookings (a landlord's page of a listing).
export function BookingTable({ me, propertyId }) {
  const [list, setList] = useState(null);
  const [err, setErr] = useState(null);
  const load = useCallback(() => {
    api('/v1/bookings?limit=100' + (propertyId ? '&property_id=' + propertyId : ''))
      .then((r) => { setList(r.items || []); setErr(null); }, (e) => setErr(e.message));
  }, [propertyId]);
  useEffect(load, [load]);
  if (err) return <p className="error" role="alert">Could not load the bookings: {err}</p>;
  if (!list) return <p>Loading…</p>;
  if (list.length === 0) return <p>No bookings yet.</p>;
  return (
    <table className="bookings">
      <thead><tr><th scope="col">Dates</th><th scope="col">Guests</th><th scope="col">Status</th><th scope="col">Total</th><th scope="col">Actions</th></tr></thead>
      <tbody>{list.map((b) => <BookingRow key={b.id} b={b} me={me} onChange={load} />)}</tbody>
    </table>
  );
}

function BookingRow({ b, me, onChange }) {
  const [mode, setMode] = useState(null); // 'cancel' | 'pay'
  const [err, setErr] = useState('');
  const [done, setDone] = useState('');
  const landlord = me?.role === 'landlord';
  const act = async (what, body) => {
    setErr('');
    try {
      const r = await api(`/v1/bookings/${b.id}/${what}`, { method: 'POST', body });
      setMode(null);
      setDone(what === 'cancel'
        ? `Cancelled. Refund: ${r.refund ? formatMoney(r.refund) : 'none'}.`
        : `${label(r.status)}.`);
      onChange();
    } catch (e) { setErr(e.message); }
  };
  const pv = refundPreview(b, { by: landlord ? 'landlord' : 'tenant' });
  const dates = `${b.check_in} → ${b.check_out}`;
  return (
    <>
      <tr>
        <td><Link to={`/app/listings/${b.property_id}`}>{dates}</Link></td>
        <td data-label="Guests">{b.guests}</td>
        <td data-label="Status">{label(b.status)}{b.refund ? ` (refund ${formatMoney(b.refund)})` : ''}</td>
        <td data-label="Total">{formatMoney(b.total)}</td>
        <td className="actions">
          {landlord && b.status === 'requested' && <>
            <button type="button" onClick={() => act('accept')}>Accept {dates}</button>
            <button type="button" className="secondary" onClick={() => act('decline')}>Decline {dates}</button>
          </>}
          {!landlord && b.status === 'pending_payment' && <button type="button" onClick={() => setMode(mode === 'pay' ? null : 'pay')} aria-expanded={mode === 'pay'}>Pay {dates}</button>}
          {pv.allowed && <button type="button" className="secondary" onClick={() => setMode(mode === 'cancel' ? null : 'cancel')} aria-expanded={mode === 'cancel'}>Cancel {dates}</button>}
          {landlord && b.status === 'confirmed' && <Link to={`/app/leases/new?tenant=${b.tenant_id}&property=${b.property_id}`}>Offer a lease</Link>}
          {err && <small className="error" role="alert">{err}</small>}
          {done && <small className="ok" role="status">{done}</small>}
        </td>
      </tr>
      {mode === 'cancel' && (
        <tr className="sub"><td colSpan={5}>
          <div role="alertdialog" aria-labelledby={`cx-${b.id}`} className="confirm">
            <p id={`cx-${b.id}`}><strong>Cancel the stay {dates}?</strong></p>
            <p data-testid="refund">{pv.refund ? <>Refund: <strong>{formatMoney(pv.refund)}</strong> of {formatMoney(b.total)}. </> : null}{pv.why}.</p>
            <button type="button" onClick={() => act('cancel', { reason: landlord ? 'cancelled by the landlord' : 'cancelled by the tenant' })}>Confirm the cancellation</button>
            <button type="button" className="secondary" autoFocus onClick={() => setMode(null)}>Keep the booking</button>
          </div>
        </td></tr>
      )}
      {mode === 'pay' && <tr className="sub"><td colSpan={5}><Hold booking={b} /></td></tr>}
    </>
  );
}

const when = (iso) => (iso ? new Date(iso).toLocaleString('en-IE', { dateStyle: 'medium', timeStyle: 'short' }) : '');

// Viewings: the tenant cancels; the landlord confirms or declines.
// propertyId: only that listing's.
export function Visits({ me, propertyId }) {
  const [list, setList] = useState(null);
  const [err, setErr] = useState('');
  const load = useCallback(() => api('/v1/visits?limit=100').then((r) => setList(r.items || []), (e) => setErr(e.message)), []);
  useEffect(() => { load(); }, [load]);
  const act = async (v, what) => {
    setErr('');
    try { await api(`/v1/visits/${v.id}/${what}`, { method: 'POST' }); load(); } catch (e) { setErr(e.message); }
  };
  const items = (list || []).filter((v) => !propertyId || v.property_id === propertyId);
  const landlord = me?.role === 'landlord';
  return (
    <section aria-labelledby="visits-h">
      <h2 id="visits-h">Viewings</h2>
      {err && <p className="error" role="alert">{err}</p>}
      {list && items.length === 0 && <p>No viewings.</p>}
      <ul className="visits">
        {items.map((v) => (
          <li key={v.id}>
            {when(v.starts_at)} · <Link to={`/app/listings/${v.property_id}`}>the listing</Link> · <strong>{label(v.status)}</strong>{' '}
            {landlord && v.status === 'requested' && <>
              <button type="button" onClick={() => act(v, 'confirm')}>Confirm viewing {when(v.starts_at)}</button>
              <button type="button" className="secondary" onClick={() => act(v, 'decline')}>Decline viewing {when(v.starts_at)}</button>
            </>}
            {['requested', 'confirmed'].includes(v.status) && <button type="button" className="secondary" onClick={() => act(v, 'cancel')}>Cancel viewing {when(v.starts_at)}</button>}
          </li>
        ))}
      </ul>
    </section>
  );
}
