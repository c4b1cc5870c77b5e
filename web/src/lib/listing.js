// The landlord's listing form <-> the property API's body.
import { parseMoney, minorDigits } from './money.js';

export const blankListing = {
  title: '', description: '', property_type: 'apartment', street: '', city: '', region: '', postal_code: '', country: 'IE',
  lat: '53.35', lon: '-6.26', bedrooms: '1', beds: '1', bathrooms: '1', max_guests: '2', amenities: [], price: '',
  instant_book: true, min_nights: '1', max_nights: '30', cancellation_policy: 'flexible',
};

export const LISTING_FIELDS = ['title', 'description', 'property_type', 'street', 'city', 'region', 'postal_code', 'country', 'lat', 'lon',
  'bedrooms', 'beds', 'bathrooms', 'max_guests', 'amenities', 'nightly_price', 'min_nights', 'max_nights', 'cancellation_policy'];

export function listingBody(f) {
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

// A listing from the API -> the form's strings.
export function fromListing(p) {
  const a = p.address || {}, s = (v, d = '') => (v === null || v === undefined ? d : String(v));
  const np = p.nightly_price;
  const price = np && Number.isInteger(np.amount) ? (np.amount / 10 ** minorDigits(np.currency)).toFixed(minorDigits(np.currency)) : '';
  return {
    title: s(p.title), description: s(p.description), property_type: s(p.property_type, 'apartment'),
    street: s(a.street), city: s(a.city), region: s(a.region), postal_code: s(a.postal_code), country: s(a.country, 'IE'),
    lat: s(p.location?.lat), lon: s(p.location?.lon), bedrooms: s(p.bedrooms), beds: s(p.beds), bathrooms: s(p.bathrooms),
    max_guests: s(p.max_guests), amenities: [...(p.amenities || [])], price,
    instant_book: !!p.instant_book, min_nights: s(p.min_nights, '1'), max_nights: s(p.max_nights, '30'),
    cancellation_policy: s(p.cancellation_policy, 'flexible'),
  };
}

// The fields that changed (a PATCH body; address and location whole).
export function listingPatch(before, after) {
  const a = listingBody(before), b = listingBody(after), out = {};
  for (const k of Object.keys(b)) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out[k] = b[k];
  return out;
}

// Move item i of a list by d (-1 up, +1 down); the same list when it cannot.
export function move(list, i, d) {
  const j = i + d;
  if (i < 0 || i >= list.length || j < 0 || j >= list.length) return list;
  const out = [...list];
  [out[i], out[j]] = [out[j], out[i]];
  return out;
}
