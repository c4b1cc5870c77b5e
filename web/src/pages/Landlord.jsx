// A landlord's listings: publish or unpublish them, open one to manage it,
// create a new one.
import { useCallback, useEffect, useState } from 'react';
import { api, ifMatch } from '../api.js';
import { blankListing, listingBody } from '../lib/listing.js';
import { formatMoney } from '../lib/money.js';
import { label } from '../lib/search.js';
import { Link } from '../ui.jsx';
import ListingForm from './ListingForm.jsx';

export async function setPublished(p, on) {
  return api(`/v1/properties/${p.id}/${on ? 'publish' : 'unpublish'}`, { method: 'POST', headers: ifMatch(p) });
}

export default function LandlordPage() {
  const [mine, setMine] = useState([]);
  const [msg, setMsg] = useState('');
  const [err, setErr] = useState('');
  const load = useCallback(() => {
    api('/v1/properties?owner=me&limit=100').then((r) => setMine(r.items || []), (e) => setErr('Could not load your listings: ' + e.message));
  }, []);
  useEffect(load, [load]);
  const create = async (f) => {
    setMsg(''); setErr('');
    const p = await api('/v1/properties', { method: 'POST', body: listingBody(f) });
    setMsg(`Draft “${p.title}” saved. Publish it to make it searchable.`);
    setMine((m) => [p, ...m.filter((x) => x.id !== p.id)]);
    return blankListing;
  };
  const publish = async (p, on) => {
    setMsg(''); setErr('');
    try {
      const r = await setPublished(p, on);
      setMine((m) => m.map((x) => (x.id === p.id ? { ...x, ...r } : x)));
      setMsg(`“${p.title}” ${on ? 'published' : 'unpublished'}.`);
    } catch (ex) {
      setErr(`Could not ${on ? 'publish' : 'unpublish'} “${p.title}”: ${ex.message}`);
    }
  };
  return (
    <div className="landlord">
      <h1>My listings</h1>
      <p role="status" className="ok">{msg}</p>
      {err && <p role="alert" className="error">{err}</p>}
      <ul className="cards">
        {mine.map((p) => (
          <li key={p.id} className="card">
            <h2><Link to={`/app/landlord/${p.id}`}>{p.title}</Link></h2>
            <p className="muted">{label(p.status || 'draft')} · {formatMoney(p.nightly_price)} / night · {(p.photos || []).length} photos</p>
            <p className="actions">
              <Link to={`/app/landlord/${p.id}`}>Manage “{p.title}”</Link>{' '}
              {p.status === 'published'
                ? <button type="button" className="secondary" onClick={() => publish(p, false)}>Unpublish “{p.title}”</button>
                : <button type="button" onClick={() => publish(p, true)}>Publish “{p.title}”</button>}
            </p>
          </li>
        ))}
      </ul>
      <h2>New listing</h2>
      <ListingForm initial={blankListing} submitText="Save draft" onSave={create} />
    </div>
  );
}
