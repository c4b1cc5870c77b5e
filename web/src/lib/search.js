import { parseMoney } from './money.js';

export const TYPES = ['apartment', 'house', 'studio', 'room', 'villa', 'townhouse', 'loft', 'cottage',
  'cabin', 'bungalow', 'chalet', 'condo'];
export const AMENITIES = ['wifi', 'parking', 'gym', 'pool', 'washer', 'dryer', 'dishwasher',
  'air_conditioning', 'heating', 'kitchen', 'tv', 'workspace', 'elevator', 'balcony', 'garden',
  'terrace', 'fireplace', 'hot_tub', 'bbq', 'ev_charger', 'crib', 'wheelchair_accessible',
  'pets_allowed', 'smoking_allowed', 'security_system', 'sea_view'];
export const SORTS = ['relevance', 'price_asc', 'price_desc', 'newest'];

export const emptySearch = () => ({
  q: '', priceMin: '', priceMax: '', types: [], amenities: [], guests: '', checkIn: '', checkOut: '',
  sort: 'relevance',
});

// The search state of the page -> the query string of GET /v1/search.
// Invalid or empty inputs are left out; lists are sorted so equal states give
// equal strings (and equal cache keys).
export function searchToQuery(s, { currency = 'EUR', facets = true, limit = 20 } = {}) {
  const p = new URLSearchParams();
  const q = (s.q || '').trim().replace(/\s+/g, ' ');
  if (q) p.set('q', q.slice(0, 256));
  const min = s.priceMin === '' ? null : parseMoney(s.priceMin, currency);
  const max = s.priceMax === '' ? null : parseMoney(s.priceMax, currency);
  if (min !== null) p.set('price_min', String(min));
  if (max !== null && (min === null || max >= min)) p.set('price_max', String(max));
  const types = [...new Set(s.types || [])].filter((t) => TYPES.includes(t)).sort();
  if (types.length) p.set('type', types.join(','));
  const am = [...new Set(s.amenities || [])].filter((a) => AMENITIES.includes(a)).sort();
  if (am.length) p.set('amenities', am.join(','));
  const g = Number(s.guests);
  if (s.guests !== '' && Number.isInteger(g) && g >= 1 && g <= 100) p.set('guests', String(g));
  if (s.checkIn && s.checkOut && s.checkIn < s.checkOut) {
    p.set('check_in', s.checkIn);
    p.set('check_out', s.checkOut);
  }
  if (s.sort && s.sort !== 'relevance' && SORTS.includes(s.sort)) p.set('sort', s.sort);
  if (facets) p.set('facets', 'type,amenities,price');
  if (limit !== 20) p.set('limit', String(limit));
  return p.toString();
}

// Which search inputs are invalid (shown next to the field before asking).
export function searchErrors(s, currency = 'EUR') {
  const e = {};
  if (s.priceMin !== '' && parseMoney(s.priceMin, currency) === null) e.priceMin = 'Enter an amount such as 80 or 80.50';
  if (s.priceMax !== '' && parseMoney(s.priceMax, currency) === null) e.priceMax = 'Enter an amount such as 150';
  const min = parseMoney(s.priceMin, currency), max = parseMoney(s.priceMax, currency);
  if (!e.priceMax && min !== null && max !== null && max < min) e.priceMax = 'The maximum is below the minimum';
  return e;
}

export function toggle(list, v) {
  return list.includes(v) ? list.filter((x) => x !== v) : [...list, v];
}

export const label = (s) => s.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
