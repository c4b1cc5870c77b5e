import { useEffect, useMemo, useRef, useState } from 'react';
import { api, fieldErrors } from '../api.js';
import { formatMoney } from '../lib/money.js';
import { AMENITIES, TYPES, emptySearch, label, searchErrors, searchToQuery, toggle } from '../lib/search.js';
import { Field, FormError, Link } from '../ui.jsx';

// ---- search -----------------------------------------------------------------------------------
function Highlight({ html, text }) {
  // The API escapes the text and marks matches with <em>: only that tag is kept.
  if (!html) return text;
  const parts = html.split(/(<em>|<\/em>)/);
  const dec = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  const out = [];
  let em = false;
  parts.forEach((p, i) => {
    if (p === '<em>') em = true;
    else if (p === '</em>') em = false;
    else if (p) out.push(em ? <mark key={i}>{dec(p)}</mark> : dec(p));
  });
  return <>{out}</>;
}

export default function SearchPage() {
  const [s, setS] = useState(emptySearch);
  const [res, setRes] = useState(null);
  const [err, setErr] = useState({});
  const [loading, setLoading] = useState(false);
  const [sugg, setSugg] = useState([]);
  const errs = searchErrors(s);
  const qs = useMemo(() => searchToQuery(s), [s]);
  const seq = useRef(0);

  useEffect(() => {
    if (Object.keys(errs).length) return undefined;
    const n = ++seq.current;
    const t = setTimeout(async () => {
      setLoading(true);
      try {
        const r = await api('/v1/search?' + qs);
        if (n === seq.current) { setRes(r); setErr({}); }
      } catch (ex) {
        if (n === seq.current) setErr(fieldErrors(ex, ['q', 'price_min', 'price_max', 'type', 'amenities', 'guests', 'check_in', 'check_out']));
      } finally {
        if (n === seq.current) setLoading(false);
      }
    }, 200);
    return () => clearTimeout(t);
  }, [qs]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    const q = s.q.trim();
    if (q.length < 2) { setSugg([]); return undefined; }
    const t = setTimeout(() => {
      api('/v1/search/suggest?limit=6&q=' + encodeURIComponent(q)).then((r) => setSugg(r.items || []), () => setSugg([]));
    }, 150);
    return () => clearTimeout(t);
  }, [s.q]);

  const set = (k) => (e) => setS({ ...s, [k]: e.target.value });
  const facets = res?.facets || {};
  return (
    <div className="search">
      <h1 className="visually-hidden">Find a place</h1>
      <form className="searchbar" role="search" onSubmit={(e) => e.preventDefault()}>
        <Field label="Where or what" error={err.q}>
          {(p) => <input {...p} type="search" list="suggestions" placeholder="City, neighbourhood or words"
            value={s.q} onChange={set('q')} autoComplete="off" />}
        </Field>
        <datalist id="suggestions">
          {sugg.map((x, i) => <option key={i} value={x.text}>{x.kind}</option>)}
        </datalist>
        <Field label="Check-in" error={err.check_in}>{(p) => <input {...p} type="date" value={s.checkIn} onChange={set('checkIn')} />}</Field>
        <Field label="Check-out" error={err.check_out}>{(p) => <input {...p} type="date" value={s.checkOut} onChange={set('checkOut')} />}</Field>
        <Field label="Guests" error={err.guests}>{(p) => <input {...p} type="number" min="1" max="100" value={s.guests} onChange={set('guests')} />}</Field>
      </form>
      <div className="layout">
        <aside aria-label="Filters" className="filters">
          <fieldset>
            <legend>Nightly price (EUR)</legend>
            <Field label="Minimum" error={errs.priceMin || err.price_min}>
              {(p) => <input {...p} inputMode="decimal" value={s.priceMin} onChange={set('priceMin')} />}
            </Field>
            <Field label="Maximum" error={errs.priceMax || err.price_max}>
              {(p) => <input {...p} inputMode="decimal" value={s.priceMax} onChange={set('priceMax')} />}
            </Field>
          </fieldset>
          <fieldset>
            <legend>Type</legend>
            {TYPES.map((t) => (
              <label key={t} className="check">
                <input type="checkbox" checked={s.types.includes(t)} onChange={() => setS({ ...s, types: toggle(s.types, t) })} />
                {label(t)} <span className="count" aria-label={`${facets.type?.[t] ?? 0} listings`}>{facets.type?.[t] ?? 0}</span>
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>Amenities</legend>
            {AMENITIES.map((a) => (
              <label key={a} className="check">
                <input type="checkbox" checked={s.amenities.includes(a)} onChange={() => setS({ ...s, amenities: toggle(s.amenities, a) })} />
                {label(a)} <span className="count" aria-label={`${facets.amenities?.[a] ?? 0} listings`}>{facets.amenities?.[a] ?? 0}</span>
              </label>
            ))}
          </fieldset>
          <Field label="Sort by">
            {(p) => (
              <select {...p} value={s.sort} onChange={set('sort')}>
                <option value="relevance">Best match</option>
                <option value="price_asc">Price, low to high</option>
                <option value="price_desc">Price, high to low</option>
                <option value="newest">Newest</option>
              </select>
            )}
          </Field>
        </aside>
        <section className="results" aria-live="polite" aria-busy={loading}>
          <FormError error={err._} />
          <p className="total">{res ? `${res.total} ${res.total === 1 ? 'place' : 'places'}` : 'Searching…'}</p>
          <ul className="cards">
            {(res?.items || []).map((h) => (
              <li key={h.id} className="card">
                <h2><Link to={`/app/listings/${h.id}`}><Highlight html={h.title_highlight} text={h.title} /></Link></h2>
                <p className="muted">{label(h.property_type || 'home')} · {h.city}{h.neighbourhood ? `, ${h.neighbourhood}` : ''} · {h.bedrooms} bd · up to {h.max_guests} guests</p>
                {h.snippet && <p className="snippet"><Highlight html={h.snippet} /></p>}
                <p className="price">{h.nightly_price ? <><strong>{formatMoney(h.nightly_price)}</strong> / night</> : h.monthly_rent ? <><strong>{formatMoney(h.monthly_rent)}</strong> / month</> : ''}</p>
              </li>
            ))}
          </ul>
        </section>
      </div>
    </div>
  );
}

