// Leases and their rent ledger (the rent plugin): a landlord offers a lease
// to a tenant of one of their listings; the tenant accepts it (optionally
// with autopay); both follow charges, payments, refunds and late fees, and
// the tenant pays a charge with a sandbox test card.
import { useEffect, useRef, useState } from 'react';
import { api, fieldErrors } from '../api.js';
import { idemKey } from './Hold.jsx';
import { cardToken, TEST_CARDS } from '../lib/cards.js';
import { blankLease, leaseBody, openAmounts } from '../lib/lease.js';
import { formatMoney } from '../lib/money.js';
import { label } from '../lib/search.js';
import { Field, FormError, Link, go } from '../ui.jsx';

// The caller's leases, as tenant or landlord (GET /v1/leases), a page at a time.
export default function LeasesPage({ me }) {
  const [items, setItems] = useState(null);
  const [next, setNext] = useState(null);
  const [open, setOpen] = useState('');
  const [err, setErr] = useState('');
  const [loadErr, setLoadErr] = useState('');
  const load = (cursor) => api('/v1/leases?limit=20' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : '')).then((r) => {
    setItems((cur) => (cursor && cur ? [...cur, ...r.items] : r.items));
    setNext(r.next_cursor);
  }, (e) => setLoadErr(e.message));
  useEffect(() => { load(null); }, []);
  const submit = (e) => {
    e.preventDefault();
    const id = open.trim();
    if (!/^[0-9a-f-]{36}$/.test(id)) { setErr('A lease number looks like 0b1c…-…: 36 characters'); return; }
    go('/app/leases/' + id);
  };
  return (
    <section>
      <h1>Leases</h1>
      {me.role === 'landlord' && <p>To offer a lease, open <Link to="/app/bookings">Bookings</Link> and choose “Offer a lease” next to a confirmed stay, or <Link to="/app/leases/new">start one here</Link>.</p>}
      <FormError error={loadErr} />
      {items === null ? <p>Loading…</p> : items.length === 0 ? <p>No leases yet.</p> : (
        <ul className="leases">{items.map((l) => (
          <li key={l.id}><Link to={`/app/leases/${l.id}`}>{`${formatMoney(l.monthly_rent)} a month from ${l.start_date} · ${label(l.status)}`}</Link></li>
        ))}</ul>
      )}
      {next && <button type="button" onClick={() => load(next)}>More leases</button>}
      <form onSubmit={submit} noValidate className="row">
        <Field label="Open a lease by its number" error={err}>{(p) => <input {...p} value={open} onChange={(e) => setOpen(e.target.value)} />}</Field>
        <button type="submit">Open</button>
      </form>
    </section>
  );
}

export function NewLeasePage({ query }) {
  const q = new URLSearchParams(query);
  const [f, setF] = useState(blankLease(q.get('tenant') || '', q.get('property') || ''));
  const [err, setErr] = useState({});
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    const r = leaseBody(f);
    if (r.errors) { setErr(r.errors); return; }
    setErr({}); setBusy(true);
    try {
      const l = await api('/v1/leases', { method: 'POST', body: r.body });
      go('/app/leases/' + l.id);
    } catch (ex) {
      setErr(fieldErrors(ex, ['tenant_id', 'property_id', 'monthly_rent', 'start_date', 'end_date', 'due_day', 'grace_days', 'reminder_days', 'late_fee', 'time_zone']));
    } finally { setBusy(false); }
  };
  const F = (k, text, props = {}, ek = k) => <Field label={text} error={err[ek]}>{(p) => <input {...p} {...props} value={f[k]} onChange={set(k)} />}</Field>;
  return (
    <section className="narrow">
      <h1>Offer a lease</h1>
      <form onSubmit={submit} noValidate>
        <FormError error={err._} />
        {F('tenant_id', 'Tenant (their account number)')}
        {F('property_id', 'Listing number')}
        {F('rent', 'Monthly rent (EUR)', { inputMode: 'decimal' }, 'monthly_rent')}
        {F('start_date', 'Start date', { type: 'date' })}
        {F('end_date', 'End date (optional)', { type: 'date' })}
        {F('due_day', 'Rent due on day of the month', { type: 'number', min: 1, max: 28 })}
        {F('grace_days', 'Grace days before a late fee', { type: 'number', min: 0, max: 27 })}
        <Field label="Late fee" error={err.late_fee}>{(p) => (
          <select {...p} value={f.fee_type} onChange={set('fee_type')}>
            <option value="none">None</option><option value="fixed">A fixed amount</option><option value="daily">An amount per day late</option>
          </select>
        )}</Field>
        {f.fee_type !== 'none' && F('fee_amount', 'Late fee amount (EUR)', { inputMode: 'decimal' }, 'late_fee')}
        {F('time_zone', 'Time zone', {}, 'time_zone')}
        <button type="submit" disabled={busy}>Offer the lease</button>
      </form>
    </section>
  );
}

export function LeasePage({ id, me }) {
  const [l, setL] = useState(null);
  const [ledger, setLedger] = useState(null);
  const [err, setErr] = useState('');
  const [msg, setMsg] = useState('');
  const load = () => {
    api('/v1/leases/' + id).then(setL, (e) => setErr(e.message));
    api(`/v1/leases/${id}/ledger`).then(async (lg) => {
      // which charge each payment paid (the ledger does not say)
      const pays = await Promise.all((lg.entries || []).filter((e) => e.type === 'payment')
        .map((e) => api('/v1/payments/' + e.id).catch(() => null)));
      setLedger({ ...lg, open: openAmounts(lg.entries, pays.filter(Boolean)) });
    }, (e) => setErr('The ledger cannot be shown: ' + e.message));
  };
  useEffect(load, [id]); // eslint-disable-line react-hooks/exhaustive-deps
  if (!l) return err ? <p className="error" role="alert">{err}</p> : <p>Loading…</p>;
  const tenant = me.id === l.tenant_id;
  return (
    <section>
      <h1>Lease</h1>
      <p role="status" className="ok">{msg}</p>
      {err && <p className="error" role="alert">{err}</p>}
      <dl className="facts-list">
        <dt>Status</dt><dd>{label(l.status)}</dd>
        <dt>Rent</dt><dd>{formatMoney(l.monthly_rent)} a month, due on day {l.due_day}</dd>
        <dt>From</dt><dd>{l.start_date}{l.end_date ? ` to ${l.end_date}` : ''}</dd>
        <dt>Late fee</dt><dd>{l.late_fee?.type === 'none' || !l.late_fee?.type ? 'none' : `${label(l.late_fee.type)} ${l.late_fee.amount !== undefined ? formatMoney({ amount: l.late_fee.amount, currency: l.monthly_rent.currency }) : ''} after ${l.grace_days} days`}</dd>
        <dt>Autopay</dt><dd>{l.autopay ? 'on' : 'off'}</dd>
        <dt>Listing</dt><dd><Link to={`/app/listings/${l.property_id}`}>open</Link></dd>
        <dt>Lease number</dt><dd><code>{l.id}</code></dd>
      </dl>
      {tenant && ['offered', 'proposed', 'pending'].includes(l.status) && <AcceptLease l={l} onDone={(x) => { setL(x); setMsg('Lease accepted.'); load(); }} />}
      {!tenant && l.status === 'active' && <Terminate l={l} onDone={(x) => { setL(x); setMsg('The lease ends on ' + x.end_date + '.'); }} />}
      <Ledger ledger={ledger} tenant={tenant} onPaid={() => { setMsg('Payment sent.'); load(); }} />
    </section>
  );
}

function CardField({ value, onChange, error, text = 'Card number' }) {
  return (
    <Field label={text} error={error} hint={`Sandbox: ${TEST_CARDS[0].number} succeeds`}>
      {(p) => <input {...p} inputMode="numeric" autoComplete="cc-number" value={value} onChange={(e) => onChange(e.target.value)} />}
    </Field>
  );
}

function AcceptLease({ l, onDone }) {
  const [card, setCard] = useState('');
  const [err, setErr] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    let body = {};
    if (card.trim()) { const c = cardToken(card); if (c.error) { setErr(c.error); return; } body = { autopay_payment_method: c.token }; }
    try { onDone(await api(`/v1/leases/${l.id}/accept`, { method: 'POST', body })); } catch (ex) { setErr(ex.message); }
  };
  return (
    <form onSubmit={submit} noValidate className="narrow">
      <h2>Accept this lease</h2>
      <CardField value={card} onChange={setCard} error={err} text="Card for autopay (optional)" />
      <button type="submit">Accept the lease</button>
    </form>
  );
}

function Terminate({ l, onDone }) {
  const [d, setD] = useState('');
  const [err, setErr] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    if (!d) { setErr('Choose the last day'); return; }
    try { onDone(await api(`/v1/leases/${l.id}/terminate`, { method: 'POST', body: { end_date: d } })); } catch (ex) { setErr(fieldErrors(ex, ['end_date']).end_date || ex.message); }
  };
  return (
    <form onSubmit={submit} noValidate className="row">
      <Field label="End the lease after" error={err}>{(p) => <input {...p} type="date" value={d} onChange={(e) => setD(e.target.value)} />}</Field>
      <button type="submit" className="secondary">End the lease</button>
    </form>
  );
}

const KIND = { rent: 'Rent', late_fee: 'Late fee', payment: 'Payment', refund: 'Refund' };

function Ledger({ ledger, tenant, onPaid }) {
  const [paying, setPaying] = useState(null);
  if (!ledger) return null;
  const entries = ledger.entries || [];
  return (
    <section aria-labelledby="ledger-h">
      <h2 id="ledger-h">Rent ledger</h2>
      {(ledger.currencies || []).map((c) => (
        <p key={c.currency} className="balance">
          Charged {formatMoney({ amount: c.charged, currency: c.currency })} · paid {formatMoney({ amount: c.paid, currency: c.currency })}
          {c.refunded ? ` · refunded ${formatMoney({ amount: c.refunded, currency: c.currency })}` : ''} · <strong>balance {formatMoney({ amount: c.balance, currency: c.currency })}</strong>
        </p>
      ))}
      {entries.length === 0 ? <p>No charges yet: the first is made ahead of the first due date.</p> : (
        <table>
          <thead><tr><th scope="col">Date</th><th scope="col">What</th><th scope="col">Amount</th><th scope="col">Left to pay</th></tr></thead>
          <tbody>{entries.map((e) => {
            const charge = e.type === 'rent' || e.type === 'late_fee';
            const left = ledger.open?.[e.id];
            return (
              <tr key={e.type + e.id}>
                <td>{e.date}</td><td>{KIND[e.type] || label(e.type)}</td><td>{formatMoney(e.amount)}</td>
                <td>{charge && (left === 0 ? 'Paid' : <>
                  {left !== undefined && formatMoney({ amount: left, currency: e.amount.currency })}{' '}
                  {tenant && (paying === e.id ? <PayCharge chargeId={e.id} onPaid={() => { setPaying(null); onPaid(); }} />
                    : <button type="button" onClick={() => setPaying(e.id)}>Pay {KIND[e.type].toLowerCase()} of {e.date}</button>)}
                </>)}</td>
              </tr>
            );
          })}</tbody>
        </table>
      )}
    </section>
  );
}

function PayCharge({ chargeId, onPaid }) {
  const [card, setCard] = useState('');
  const [err, setErr] = useState('');
  const idem = useRef(null);
  const submit = async (e) => {
    e.preventDefault();
    const c = cardToken(card);
    if (c.error) { setErr(c.error); return; }
    try {
      const body = { purpose: 'rent', charge_id: chargeId, payment_method: c.token };
      const p = await api('/v1/payments', { method: 'POST', headers: { 'Idempotency-Key': idemKey(idem, body) }, body });
      idem.current = null;
      if (p.status === 'failed') setErr(`The card was refused (${label(p.failure_code || 'failed')})`);
      else onPaid();
    } catch (ex) {
      if (ex.status !== 0) idem.current = null;
      setErr(ex.message);
    }
  };
  return (
    <form onSubmit={submit} noValidate>
      <CardField value={card} onChange={setCard} error={err} />
      <button type="submit">Pay</button>
    </form>
  );
}
