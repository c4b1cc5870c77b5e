// The landlord's listing form, for a new listing and for changing one.
import { useState } from 'react';
import { fieldErrors } from '../api.js';
import { LISTING_FIELDS } from '../lib/listing.js';
import { parseMoney } from '../lib/money.js';
import { AMENITIES, TYPES, label, toggle } from '../lib/search.js';
import { Field, FormError } from '../ui.jsx';

// onSave(form) -> promise; its ApiError is shown next to the field it names.
export default function ListingForm({ initial, submitText, onSave }) {
  const [f, setF] = useState(initial);
  const [err, setErr] = useState({});
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setF({ ...f, [k]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    setErr({});
    if (parseMoney(f.price) === null) { setErr({ nightly_price: 'Enter a nightly price such as 90 or 90.50' }); return; }
    setBusy(true);
    try {
      const reset = await onSave(f);
      if (reset) setF(reset);
    } catch (ex) {
      setErr(fieldErrors(ex, LISTING_FIELDS));
    } finally {
      setBusy(false);
    }
  };
  const F = (k, text, props = {}) => (
    <Field label={text} error={err[k]}>{(p) => <input {...p} {...props} value={f[k]} onChange={set(k)} />}</Field>
  );
  return (
    <form onSubmit={submit} noValidate className="grid">
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
      <button type="submit" disabled={busy}>{submitText}</button>
    </form>
  );
}
