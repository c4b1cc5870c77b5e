import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import { api, ApiError, fieldErrors, openSocket, session } from './api.js';
import { formatMoney, parseMoney } from './lib/money.js';
import { AMENITIES, TYPES, emptySearch, label, searchErrors, searchToQuery, toggle } from './lib/search.js';
import { bookingBody, nightsBetween, todayISO, validateBooking } from './lib/booking.js';

// ---- routing: /app/... paths, served as index.html by the web plugin -------------
function usePath() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const on = () => setPath(location.pathname);
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  return path;
}
export function go(to) {
  history.pushState(null, '', to);
  dispatchEvent(new PopStateEvent('popstate'));
  window.scrollTo(0, 0);
}
function Link({ to, children, ...rest }) {
  return (
    <a href={to} onClick={(e) => { if (!e.ctrlKey && !e.metaKey && e.button === 0) { e.preventDefault(); go(to); } }} {...rest}>
      {children}
    </a>
  );
}

// ---- form pieces ---------------------------------------------------------------------
function Field({ label: text, error, hint, children, id: given }) {
  const auto = useId();
  const id = given || auto;
  const errId = id + '-err';
  const child = children({ id, 'aria-invalid': error ? 'true' : undefined, 'aria-describedby': error ? errId : undefined });
  return (
    <div className={'field' + (error ? ' has-error' : '')}>
      <label htmlFor={id}>{text}</label>
      {child}
      {hint && !error && <small className="hint">{hint}</small>}
      {error && <small className="error" id={errId} role="alert">{error}</small>}
    </div>
  );
}
function FormError({ error }) {
  return error ? <p className="error banner" role="alert">{error}</p> : null;
}

// ---- the app ---------------------------------------------------------------------------
export default function App() {
  const path = usePath();
  const [me, setMe] = useState(session.get());
  const logout = () => { session.set(null); setMe(null); go('/app'); };
  const main = useRef(null);
  useEffect(() => { main.current?.focus(); }, [path]);

  let page;
  const m = path.match(/^\/app\/listings\/([0-9a-f-]{36})$/);
  if (m) page = <ListingPage id={m[1]} me={me} />;
  else if (path === '/app/login') page = <AuthPage mode="login" onAuth={setMe} />;
  else if (path === '/app/register') page = <AuthPage mode="register" onAuth={setMe} />;
  else if (path === '/app/landlord') page = me?.role === 'landlord' ? <LandlordPage /> : <NeedLogin role="landlord" />;
  else if (path === '/app/bookings') page = me ? <BookingsPage /> : <NeedLogin />;
  else page = <SearchPage />;

  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <Link to="/app" className="brand">RentEzy</Link>
        <nav aria-label="Main">
          <Link to="/app">Search</Link>
          {me?.role === 'landlord' && <Link to="/app/landlord">My listings</Link>}
          {me && <Link to="/app/bookings">Bookings</Link>}
          {me ? (
            <>
              <Bell token={me.token} />
              <span className="who" aria-label="Signed in as">{me.name}</span>
              <button type="button" className="link" onClick={logout}>Log out</button>
            </>
          ) : (
            <>
              <Link to="/app/login">Log in</Link>
              <Link to="/app/register">Sign up</Link>
            </>
          )}
        </nav>
      </header>
      <main id="main" tabIndex={-1} ref={main}>{page}</main>
    </>
  );
}

function NeedLogin({ role }) {
  return <p>Please <Link to="/app/login">log in</Link>{role ? ` as a ${role}` : ''} to see this page.</p>;
}

// ---- register and log in -----------------------------------------------------------------
function AuthPage({ mode, onAuth }) {
  const [f, setF] = useState({ email: '', password: '', name: '', role: 'tenant' });
  const [err, setErr] = useState({});
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    setErr({});
    setBusy(true);
    try {
      if (mode === 'register') await api('/v1/auth/register', { method: 'POST', body: f });
      const tok = await api('/v1/auth/login', { method: 'POST', body: { email: f.email, password: f.password } });
      const user = await api('/v1/me', { token: tok.access_token });
      const s = { token: tok.access_token, id: user.id, name: user.name || f.email, role: user.role };
      session.set(s);
      onAuth(s);
      go(s.role === 'landlord' ? '/app/landlord' : '/app');
    } catch (ex) {
      setErr(fieldErrors(ex, ['email', 'password', 'name', 'role']));
    } finally {
      setBusy(false);
    }
  };
  const reg = mode === 'register';
  return (
    <section className="narrow">
      <h1>{reg ? 'Create an account' : 'Log in'}</h1>
      <form onSubmit={submit} noValidate>
        <FormError error={err._} />
        {reg && (
          <Field label="Name" error={err.name}>
            {(p) => <input {...p} value={f.name} onChange={set('name')} autoComplete="name" required />}
          </Field>
        )}
        <Field label="Email" error={err.email}>
          {(p) => <input {...p} type="email" value={f.email} onChange={set('email')} autoComplete="email" required />}
        </Field>
        <Field label="Password" error={err.password} hint={reg ? '10 or more characters, mixing letters and digits' : undefined}>
          {(p) => <input {...p} type="password" value={f.password} onChange={set('password')}
            autoComplete={reg ? 'new-password' : 'current-password'} required />}
        </Field>
        {reg && (
          <fieldset className="field">
            <legend>I am a</legend>
            {['tenant', 'landlord'].map((r) => (
              <label key={r} className="inline">
                <input type="radio" name="role" value={r} checked={f.role === r} onChange={set('role')} /> {label(r)}
              </label>
            ))}
            {err.role && <small className="error" role="alert">{err.role}</small>}
          </fieldset>
        )}
        <button type="submit" disabled={busy}>{reg ? 'Sign up' : 'Log in'}</button>
      </form>
      <p>{reg ? <>Have an account? <Link to="/app/login">Log in</Link></> : <>New here? <Link to="/app/register">Sign up</Link></>}</p>
    </section>
  );
}

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

function SearchPage() {
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

// ---- a listing, and booking it ---------------------------------------------------------------------
function ListingPage({ id, me }) {
  const [p, setP] = useState(null);
  const [loadErr, setLoadErr] = useState(null);
  const [f, setF] = useState({ check_in: '', check_out: '', guests: '1' });
  const [err, setErr] = useState({});
  const [booking, setBooking] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => { api('/v1/properties/' + id).then(setP, (e) => setLoadErr(e.message)); }, [id]);
  if (loadErr) return <p className="error" role="alert">{loadErr}</p>;
  if (!p) return <p>Loading…</p>;
  const set = (k) => (e) => { setF({ ...f, [k]: e.target.value }); setErr((x) => ({ ...x, [k]: undefined, _: undefined })); };
  const nights = nightsBetween(f.check_in, f.check_out);
  const submit = async (e) => {
    e.preventDefault();
    const v = validateBooking(f, p, todayISO());
    setErr(v);
    if (Object.keys(v).length) return;
    setBusy(true);
    try {
      setBooking(await api('/v1/bookings', { method: 'POST', body: bookingBody(id, f) }));
    } catch (ex) {
      setErr(fieldErrors(ex, ['check_in', 'check_out', 'guests', 'property_id']));
    } finally {
      setBusy(false);
    }
  };
  const photos = p.photos || [];
  return (
    <article className="listing">
      <h1>{p.title}</h1>
      <p className="muted">{label(p.property_type || 'home')} · {p.address?.city}, {p.address?.country}</p>
      {photos.length > 0 && (
        <div className="photos">
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
        </section>
        <aside className="book" aria-label="Book">
          <p className="price"><strong>{formatMoney(p.nightly_price)}</strong> / night</p>
          {booking ? (
            <div role="status" className="ok">
              <h2>{booking.status === 'confirmed' ? 'Booking confirmed' : booking.status === 'pending_payment' ? 'Dates held: pay to confirm' : 'Booking requested'}</h2>
              <p>Status: <strong>{label(booking.status)}</strong></p>
              <p>{booking.check_in} → {booking.check_out}, {booking.guests} guests</p>
              {booking.total && <p>Total: <strong>{formatMoney(booking.total)}</strong></p>}
              <Link to="/app/bookings">See my bookings</Link>
            </div>
          ) : me?.role === 'tenant' ? (
            <form onSubmit={submit} noValidate>
              <FormError error={err._ || err.property_id} />
              <Field label="Check-in" error={err.check_in}>{(pp) => <input {...pp} type="date" min={todayISO()} value={f.check_in} onChange={set('check_in')} />}</Field>
              <Field label="Check-out" error={err.check_out}>{(pp) => <input {...pp} type="date" min={f.check_in || todayISO()} value={f.check_out} onChange={set('check_out')} />}</Field>
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

// ---- my bookings ----------------------------------------------------------------------------------
function BookingsPage() {
  const [list, setList] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => { api('/v1/bookings').then((r) => setList(r.items || []), (e) => setErr(e.message)); }, []);
  if (err) return <p className="error" role="alert">{err}</p>;
  if (!list) return <p>Loading…</p>;
  return (
    <section>
      <h1>Bookings</h1>
      {list.length === 0 ? <p>No bookings yet.</p> : (
        <table>
          <thead><tr><th scope="col">Dates</th><th scope="col">Guests</th><th scope="col">Status</th><th scope="col">Total</th></tr></thead>
          <tbody>{list.map((b) => (
            <tr key={b.id}><td><Link to={`/app/listings/${b.property_id}`}>{b.check_in} → {b.check_out}</Link></td><td>{b.guests}</td><td>{label(b.status)}</td><td>{formatMoney(b.total)}</td></tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}

// ---- landlord: create and publish ----------------------------------------------------------------
const blankListing = {
  title: '', description: '', property_type: 'apartment', street: '', city: '', region: '', postal_code: '', country: 'IE',
  lat: '53.35', lon: '-6.26', bedrooms: '1', beds: '1', bathrooms: '1', max_guests: '2', amenities: [], price: '',
  instant_book: true, min_nights: '1', max_nights: '30', cancellation_policy: 'flexible',
};
function listingBody(f) {
  return {
    title: f.title, description: f.description, property_type: f.property_type,
    address: { street: f.street, city: f.city, region: f.region, postal_code: f.postal_code, country: f.country },
    location: { lat: Number(f.lat), lon: Number(f.lon) },
    bedrooms: Number(f.bedrooms), beds: Number(f.beds), bathrooms: Number(f.bathrooms), max_guests: Number(f.max_guests),
    amenities: f.amenities, nightly_price: { amount: parseMoney(f.price) ?? -1, currency: 'EUR' },
    instant_book: f.instant_book, min_nights: Number(f.min_nights), max_nights: Number(f.max_nights),
    cancellation_policy: f.cancellation_policy,
  };
}
const LISTING_FIELDS = ['title', 'description', 'property_type', 'street', 'city', 'region', 'postal_code', 'country', 'lat', 'lon',
  'bedrooms', 'beds', 'bathrooms', 'max_guests', 'amenities', 'nightly_price', 'min_nights', 'max_nights', 'cancellation_policy'];

function LandlordPage() {
  const [mine, setMine] = useState([]);
  const [f, setF] = useState(blankListing);
  const [err, setErr] = useState({});
  const [msg, setMsg] = useState('');
  const [busy, setBusy] = useState(false);
  const load = useCallback(() => {
    api('/v1/properties?owner=me&limit=100').then((r) => setMine(r.items || []), (e) => setMsg('Could not load your listings: ' + e.message));
  }, []);
  useEffect(load, [load]);
  const set = (k) => (e) => setF({ ...f, [k]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  const create = async (e) => {
    e.preventDefault();
    setErr({}); setMsg('');
    if (parseMoney(f.price) === null) { setErr({ nightly_price: 'Enter a nightly price such as 90 or 90.50' }); return; }
    setBusy(true);
    try {
      const p = await api('/v1/properties', { method: 'POST', body: listingBody(f) });
      setMsg(`Draft “${p.title}” saved. Publish it to make it searchable.`);
      setF(blankListing);
      setMine((m) => [p, ...m.filter((x) => x.id !== p.id)]);
    } catch (ex) {
      const fe = fieldErrors(ex, LISTING_FIELDS);
      setErr(fe);
    } finally {
      setBusy(false);
    }
  };
  const publish = async (p, on) => {
    setMsg('');
    try {
      const r = await api(`/v1/properties/${p.id}/${on ? 'publish' : 'unpublish'}`, { method: 'POST' });
      setMine((m) => m.map((x) => (x.id === p.id ? { ...x, ...r } : x)));
      setMsg(`“${p.title}” ${on ? 'published' : 'unpublished'}.`);
    } catch (ex) {
      setMsg(`Could not ${on ? 'publish' : 'unpublish'} “${p.title}”: ${ex.message}`);
    }
  };
  const F = (k, text, props = {}) => (
    <Field label={text} error={err[k]}>{(p) => <input {...p} {...props} value={f[k]} onChange={set(k)} />}</Field>
  );
  return (
    <div className="landlord">
      <h1>My listings</h1>
      <p role="status" className="ok">{msg}</p>
      <ul className="cards">
        {mine.map((p) => (
          <li key={p.id} className="card">
            <h2><Link to={`/app/listings/${p.id}`}>{p.title}</Link></h2>
            <p className="muted">{label(p.status || 'draft')} · {formatMoney(p.nightly_price)} / night</p>
            {p.status === 'published'
              ? <button type="button" onClick={() => publish(p, false)}>Unpublish “{p.title}”</button>
              : <button type="button" onClick={() => publish(p, true)}>Publish “{p.title}”</button>}
          </li>
        ))}
      </ul>
      <h2>New listing</h2>
      <form onSubmit={create} noValidate className="grid">
        <FormError error={err._} />
        {F('title', 'Title', { required: true, maxLength: 200 })}
        <Field label="Description" error={err.description}>{(p) => <textarea {...p} rows={4} value={f.description} onChange={set('description')} />}</Field>
        <Field label="Type" error={err.property_type}>
          {(p) => <select {...p} value={f.property_type} onChange={set('property_type')}>{TYPES.map((t) => <option key={t} value={t}>{label(t)}</option>)}</select>}
        </Field>
        {F('street', 'Street')}{F('city', 'City')}{F('region', 'Region or neighbourhood')}{F('postal_code', 'Postal code')}
        {F('country', 'Country (2 letters)', { maxLength: 2 })}
        {F('lat', 'Latitude', { inputMode: 'decimal' })}{F('lon', 'Longitude', { inputMode: 'decimal' })}
        {F('bedrooms', 'Bedrooms', { type: 'number', min: 0 })}{F('beds', 'Beds', { type: 'number', min: 0 })}
        {F('bathrooms', 'Bathrooms', { type: 'number', min: 0, step: 0.5 })}{F('max_guests', 'Maximum guests', { type: 'number', min: 1 })}
        <Field label="Nightly price (EUR)" error={err.nightly_price}>{(p) => <input {...p} inputMode="decimal" value={f.price} onChange={set('price')} />}</Field>
        {F('min_nights', 'Minimum nights', { type: 'number', min: 1 })}{F('max_nights', 'Maximum nights', { type: 'number', min: 1 })}
        <Field label="Cancellation policy" error={err.cancellation_policy}>
          {(p) => <select {...p} value={f.cancellation_policy} onChange={set('cancellation_policy')}>{['flexible', 'moderate', 'strict'].map((c) => <option key={c} value={c}>{label(c)}</option>)}</select>}
        </Field>
        <label className="check"><input type="checkbox" checked={f.instant_book} onChange={set('instant_book')} /> Instant booking</label>
        <fieldset className="amen">
          <legend>Amenities</legend>
          {AMENITIES.map((a) => (
            <label key={a} className="check"><input type="checkbox" checked={f.amenities.includes(a)} onChange={() => setF({ ...f, amenities: toggle(f.amenities, a) })} /> {label(a)}</label>
          ))}
          {err.amenities && <small className="error" role="alert">{err.amenities}</small>}
        </fieldset>
        <button type="submit" disabled={busy}>Save draft</button>
      </form>
    </div>
  );
}

// ---- the notification bell -----------------------------------------------------------------------
function Bell({ token }) {
  const [unread, setUnread] = useState(0);
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState([]);
  const [live, setLive] = useState('');
  useEffect(() => {
    api('/v1/notifications/unread_count').then((r) => setUnread(r.unread || 0), () => {});
    return openSocket(token, (m) => {
      if (m.ch === 'notify' && m.type === 'notification') {
        setUnread((u) => u + 1);
        setItems((it) => [m.notification, ...it]);
        setLive(m.notification?.title || 'New notification');
      }
    });
  }, [token]);
  const toggleOpen = async () => {
    const next = !open;
    setOpen(next);
    if (next) api('/v1/notifications?limit=10').then((r) => setItems(r.items || []), () => {});
  };
  const readAll = async () => {
    try { await api('/v1/notifications/read_all', { method: 'POST' }); setUnread(0); } catch { /* shown by the count */ }
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
          {items.length === 0 ? <p>No notifications.</p> : (
            <ul>{items.map((n, i) => <li key={n.id || i}><strong>{n.title}</strong><br />{n.body}</li>)}</ul>
          )}
          {unread > 0 && <button type="button" onClick={readAll}>Mark all read</button>}
        </div>
      )}
    </div>
  );
}

export { ApiError };
