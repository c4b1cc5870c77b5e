import { blankListing, fromListing, listingBody, listingPatch, move } from '../../web/src/lib/listing.js';
import { leaseBody } from '../../web/src/lib/lease.js';
import { lastContiguous, mergeMessages } from '../../web/src/lib/chat.js';

const api = {
  id: 'x', version: 3, title: 'Loft', description: 'd', property_type: 'loft',
  address: { street: 'S 1', city: 'Dublin', region: null, postal_code: 'D08', country: 'IE' },
  location: { lat: 53.3, lon: -6.2 }, bedrooms: 1, beds: 2, bathrooms: 1.5, max_guests: 3, amenities: ['wifi'],
  nightly_price: { amount: 9050, currency: 'EUR' }, instant_book: true, min_nights: 1, max_nights: 30, cancellation_policy: 'strict',
};

describe('the listing form', () => {
  it('round-trips a listing', () => {
    const f = fromListing(api);
    expect(f.price).toBe('90.50');
    expect(f.region).toBe('');
    const b = listingBody(f);
    expect(b.nightly_price).toEqual({ amount: 9050, currency: 'EUR' });
    expect(b.bathrooms).toBe(1.5);
  });
  it('patches only what changed', () => {
    const f = fromListing(api);
    expect(listingPatch(f, f)).toEqual({});
    expect(listingPatch(f, { ...f, title: 'New', city: 'Cork' })).toEqual({
      title: 'New', address: { street: 'S 1', city: 'Cork', region: '', postal_code: 'D08', country: 'IE' },
    });
  });
  it('an invalid price is sent as -1 for the API to refuse next to the field', () => {
    expect(listingBody({ ...blankListing, price: 'abc' }).nightly_price.amount).toBe(-1);
  });
  it('moves photos', () => {
    expect(move(['a', 'b', 'c'], 1, -1)).toEqual(['b', 'a', 'c']);
    expect(move(['a', 'b', 'c'], 2, 1)).toEqual(['a', 'b', 'c']);
    expect(move(['a', 'b', 'c'], 0, -1)).toEqual(['a', 'b', 'c']);
  });
});

const U1 = '11111111-1111-4111-8111-111111111111', U2 = '22222222-2222-4222-8222-222222222222';
describe('the lease form', () => {
  const f = { tenant_id: U1, property_id: U2, rent: '1200', currency: 'EUR', start_date: '2027-01-01', end_date: '', due_day: '1', grace_days: '3', reminder_days: '3', fee_type: 'fixed', fee_amount: '25', time_zone: 'Europe/Dublin' };
  it('builds the API body', () => {
    expect(leaseBody(f).body).toEqual({
      tenant_id: U1, property_id: U2, monthly_rent: { amount: 120000, currency: 'EUR' }, start_date: '2027-01-01', due_day: 1,
      grace_days: 3, reminder_days: 3, late_fee: { type: 'fixed', amount: 2500 }, time_zone: 'Europe/Dublin',
    });
    expect(leaseBody({ ...f, fee_type: 'none', end_date: '2027-12-31' }).body).toMatchObject({ late_fee: { type: 'none' }, end_date: '2027-12-31' });
  });
  it('names the fields in error as the API does', () => {
    expect(leaseBody({ ...f, rent: '0', due_day: '29', end_date: '2026-12-01' }).errors).toEqual({
      monthly_rent: 'Enter the monthly rent, such as 1200', due_day: 'A day from 1 to 28', end_date: 'The end is after the start',
    });
  });
});

describe('chat messages', () => {
  it('merge in seq order without duplicates', () => {
    const l = mergeMessages([{ seq: 2, body: 'b' }], [{ seq: 1, body: 'a' }, { seq: 2, body: 'b' }, { seq: 4, body: 'd' }]);
    expect(l.map((m) => m.seq)).toEqual([1, 2, 4]);
    expect(lastContiguous(l)).toBe(2);
    expect(lastContiguous([])).toBe(0);
  });
});

import { openAmounts } from '../../web/src/lib/lease.js';
describe('openAmounts (what is left to pay on each charge)', () => {
  const eur = (amount) => ({ amount, currency: 'EUR' });
  const entries = [
    { type: 'rent', id: 'c1', amount: eur(24000) }, { type: 'rent', id: 'c2', amount: eur(120000) },
    { type: 'late_fee', id: 'c3', amount: eur(2500) }, { type: 'payment', id: 'p1', amount: eur(-24000) },
  ];
  it('takes succeeded payments off their charge only', () => {
    expect(openAmounts(entries, [
      { id: 'p1', charge_id: 'c1', status: 'succeeded', amount: eur(24000) },
      { id: 'p2', charge_id: 'c2', status: 'failed', amount: eur(120000) },
      { id: 'p3', booking_id: 'b', status: 'succeeded', amount: eur(5000) },
    ])).toEqual({ c1: 0, c2: 120000, c3: 2500 });
  });
  it('everything is open without payments', () => {
    expect(openAmounts(entries, [])).toEqual({ c1: 24000, c2: 120000, c3: 2500 });
  });
});
