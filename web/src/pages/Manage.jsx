// One of a landlord's listings: change it, publish or unpublish it, photos
// (upload, reorder, remove), blocked dates, viewing slots, and its bookings
// and viewings.  Every change sends If-Match with the version it changed.
import { useCallback, useEffect, useState } from 'react';
import { api, fieldErrors, ifMatch } from '../api.js';
import { todayISO } from '../lib/booking.js';
import { fromListing, listingPatch, move } from '../lib/listing.js';
import { label } from '../lib/search.js';
import { Field, FormError, Link } from '../ui.jsx';
import { BookingTable, Visits } from './Bookings.jsx';
import Calendar, { useTaken } from './Calendar.jsx';
import { setPublished } from './Landlord.jsx';
import ListingForm from './ListingForm.jsx';

export default function ManagePage({ id, me }) {
  const [p, setP] = useState(null);
  const [msg, setMsg] = useState('');
  const [err, setErr] = useState('');
  const [calKey, setCalKey] = useState(0);
  const [taken, calErr] = useTaken(id, calKey);
  const load = useCallback(() => api('/v1/properties/' + id).then(setP, (e) => setErr(e.message)), [id]);
  useEffect(() => { load(); }, [load]);
  if (!p) return err ? <p className="error" role="alert">{err}</p> : <p>Loading…</p>;
  const say = (m) => { setMsg(m); setErr(''); };
  const save = async (f) => {
    const body = listingPatch(fromListing(p), f);
    if (!Object.keys(body).length) { say('Nothing changed.'); return null; }
    const r = await api('/v1/properties/' + id, { method: 'PATCH', body, headers: ifMatch(p) });
    setP(r);
    say(`Changes to “${r.title}” saved.`);
    return null;
  };
  const publish = async (on) => {
    try { setP(await setPublished(p, on)); say(`“${p.title}” ${on ? 'published' : 'unpublished'}.`); } catch (e) { setErr(e.message); }
  };
  return (
    <div className="manage">
      <p><Link to="/app/landlord">← My listings</Link></p>
      <h1>{p.title}</h1>
      <p>Status: <strong>{label(p.status || 'draft')}</strong>{' '}
        {p.status === 'published'
          ? <button type="button" className="secondary" onClick={() => publish(false)}>Unpublish</button>
          : <button type="button" onClick={() => publish(true)}>Publish</button>}
        {' '}<Link to={`/app/listings/${id}`}>See it as a tenant does</Link>
      </p>
      <p role="status" className="ok">{msg}</p>
      {err && <p role="alert" className="error">{err}</p>}
      <Photos p={p} setP={setP} say={say} />
      <Blocks p={p} setP={setP} say={say} onChange={() => setCalKey((k) => k + 1)} />
      <Calendar taken={taken} err={calErr} today={todayISO()} />
      <Slots id={id} say={say} />
      <section aria-labelledby="bk-h"><h2 id="bk-h">Bookings of this listing</h2><BookingTable me={me} propertyId={id} /></section>
      <Visits me={me} propertyId={id} />
      <section aria-labelledby="edit-h">
        <h2 id="edit-h">Details</h2>
        <ListingForm key={p.version} initial={fromListing(p)} submitText="Save changes" onSave={save} />
      </section>
    </div>
  );
}

function Photos({ p, setP, say }) {
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const photos = p.photos || [];
  const upload = async (e) => {
    const files = [...e.target.files];
    e.target.value = '';
    setErr(''); setBusy(true);
    let cur = p;
    try {
      for (const file of files) {
        await api(`/v1/properties/${p.id}/photos`, { method: 'POST', raw: file, headers: ifMatch(cur) });
        cur = await api('/v1/properties/' + p.id);
      }
      setP(cur);
      say(`${files.length} photo${files.length === 1 ? '' : 's'} added.`);
    } catch (ex) {
      setErr(ex.message);
      api('/v1/properties/' + p.id).then(setP, () => {});
    } finally {
      setBusy(false);
    }
  };
  const reorder = async (i, d) => {
    const ids = move(photos.map((x) => x.id), i, d);
    setErr('');
    try { setP(await api(`/v1/properties/${p.id}/photos/order`, { method: 'PUT', body: { ids }, headers: ifMatch(p) })); say('Photos reordered.'); } catch (ex) { setErr(ex.message); }
  };
  const remove = async (ph) => {
    setErr('');
    try {
      await api(`/v1/properties/${p.id}/photos/${ph.id}`, { method: 'DELETE', headers: ifMatch(p) });
      setP(await api('/v1/properties/' + p.id));
      say('Photo removed.');
    } catch (ex) { setErr(ex.message); }
  };
  return (
    <section aria-labelledby="ph-h">
      <h2 id="ph-h">Photos</h2>
      <ol className="photo-list">
        {photos.map((ph, i) => (
          <li key={ph.id}>
            <img src={ph.url || `/media/${ph.hash}`} alt={`Photo ${i + 1}`} />
            <span className="actions">
              <button type="button" className="secondary" disabled={i === 0} onClick={() => reorder(i, -1)} aria-label={`Move photo ${i + 1} earlier`}>↑</button>
              <button type="button" className="secondary" disabled={i === photos.length - 1} onClick={() => reorder(i, 1)} aria-label={`Move photo ${i + 1} later`}>↓</button>
              <button type="button" className="secondary" onClick={() => remove(ph)} aria-label={`Remove photo ${i + 1}`}>Remove</button>
            </span>
          </li>
        ))}
      </ol>
      <Field label="Add photos (JPEG, PNG or WebP)" error={err}>
        {(pp) => <input {...pp} type="file" accept="image/jpeg,image/png,image/webp" multiple disabled={busy} onChange={upload} />}
      </Field>
    </section>
  );
}

function Blocks({ p, setP, say, onChange }) {
  const [f, setF] = useState({ start: '', end: '', reason: '' });
  const [err, setErr] = useState({});
  const [blocks, setBlocks] = useState([]);
  const load = useCallback(() => api(`/v1/properties/${p.id}/blocks`).then((r) => setBlocks(r.items || r.blocks || (Array.isArray(r) ? r : [])),
    (e) => setErr({ _: 'The blocked dates cannot be shown: ' + e.message })), [p.id]);
  useEffect(() => { load(); }, [load]);
  const refresh = async () => { setP(await api('/v1/properties/' + p.id)); load(); onChange(); };
  const add = async (e) => {
    e.preventDefault();
    const v = {};
    if (!f.start) v.start = 'Choose the first night to close';
    if (!f.end) v.end = 'Choose the day the listing opens again';
    else if (f.start && f.end <= f.start) v.end = 'The end is after the start';
    setErr(v);
    if (Object.keys(v).length) return;
    try {
      await api(`/v1/properties/${p.id}/blocks`, { method: 'POST', body: f, headers: ifMatch(p) });
      setF({ start: '', end: '', reason: '' });
      await refresh();
      say(`Dates ${f.start} → ${f.end} blocked.`);
    } catch (ex) { setErr(fieldErrors(ex, ['start', 'end', 'reason'])); }
  };
  const remove = async (b) => {
    try { await api(`/v1/properties/${p.id}/blocks/${b.id}`, { method: 'DELETE', headers: ifMatch(p) }); await refresh(); say('Dates reopened.'); } catch (ex) { setErr({ _: ex.message }); }
  };
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  return (
    <section aria-labelledby="bl-h">
      <h2 id="bl-h">Blocked dates</h2>
      <ul>{blocks.map((b) => (
        <li key={b.id}>{b.start} → {b.end}{b.reason ? ` (${b.reason})` : ''} <button type="button" className="secondary" onClick={() => remove(b)}>Reopen {b.start} → {b.end}</button></li>
      ))}</ul>
      <form onSubmit={add} noValidate className="row">
        <FormError error={err._} />
        <Field label="First night closed" error={err.start}>{(pp) => <input {...pp} type="date" min={todayISO()} value={f.start} onChange={set('start')} />}</Field>
        <Field label="Open again on" error={err.end}>{(pp) => <input {...pp} type="date" min={f.start || todayISO()} value={f.end} onChange={set('end')} />}</Field>
        <Field label="Reason (optional)" error={err.reason}>{(pp) => <input {...pp} value={f.reason} maxLength={200} onChange={set('reason')} />}</Field>
        <button type="submit">Block these dates</button>
      </form>
    </section>
  );
}

// Viewing slots: a date, a start time (local) and a length.
function Slots({ id, say }) {
  const [f, setF] = useState({ date: '', time: '10:00', minutes: '30' });
  const [err, setErr] = useState({});
  const [slots, setSlots] = useState([]);
  const load = useCallback(() => api(`/v1/properties/${id}/slots`).then((r) => setSlots(r.items || []),
    (e) => setErr({ _: 'The viewing slots cannot be shown: ' + e.message })), [id]);
  useEffect(() => { load(); }, [load]);
  const add = async (e) => {
    e.preventDefault();
    const start = new Date(`${f.date}T${f.time}`);
    if (!f.date || Number.isNaN(start.getTime())) { setErr({ starts_at: 'Choose a date and a time' }); return; }
    const end = new Date(start.getTime() + Number(f.minutes) * 60000);
    try {
      await api(`/v1/properties/${id}/slots`, { method: 'POST', body: { starts_at: start.toISOString().replace(/\.\d{3}Z$/, 'Z'), ends_at: end.toISOString().replace(/\.\d{3}Z$/, 'Z') } });
      setErr({}); load();
      say(`Viewing slot on ${start.toLocaleString('en-IE', { dateStyle: 'medium', timeStyle: 'short' })} published.`);
    } catch (ex) { setErr(fieldErrors(ex, ['starts_at', 'ends_at'])); }
  };
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  return (
    <section aria-labelledby="sl-h">
      <h2 id="sl-h">Viewing slots</h2>
      <ul>{slots.map((s) => <li key={s.id}>{new Date(s.starts_at).toLocaleString('en-IE', { dateStyle: 'medium', timeStyle: 'short' })} · {s.available === false ? 'requested' : 'open'}</li>)}</ul>
      <form onSubmit={add} noValidate className="row">
        <FormError error={err._} />
        <Field label="Viewing date" error={err.starts_at}>{(pp) => <input {...pp} type="date" min={todayISO()} value={f.date} onChange={set('date')} />}</Field>
        <Field label="Start time">{(pp) => <input {...pp} type="time" value={f.time} onChange={set('time')} />}</Field>
        <Field label="Length" error={err.ends_at}>{(pp) => (
          <select {...pp} value={f.minutes} onChange={set('minutes')}>{['15', '30', '60', '120'].map((m) => <option key={m} value={m}>{m} minutes</option>)}</select>
        )}</Field>
        <button type="submit">Publish the slot</button>
      </form>
    </section>
  );
}
