import { refundPreview } from '../../web/src/lib/refund.js';

const H = 3600000;
const checkIn = '2027-03-20';
const start = Date.parse('2027-03-20T00:00:00Z');
const b = (policy, extra = {}) => ({
  status: 'confirmed', check_in: checkIn, cancellation_policy: policy,
  total: { amount: 30000, currency: 'EUR' }, nightly_price: { amount: 10001, currency: 'EUR' }, ...extra,
});
const amount = (x, hoursBefore, by) => refundPreview(x, { by, now: start - hoursBefore * H }).refund?.amount;

describe('refundPreview (shown before a cancellation is confirmed)', () => {
  it('flexible: everything from 24 h before, else all but the first night', () => {
    expect(amount(b('flexible'), 24)).toBe(30000);
    expect(amount(b('flexible'), 23.9)).toBe(19999);
  });
  it('moderate: everything from 5 days, else half rounded down', () => {
    expect(amount(b('moderate'), 120)).toBe(30000);
    expect(amount(b('moderate', { total: { amount: 30001, currency: 'EUR' } }), 119)).toBe(15000);
  });
  it('strict: everything from 14 days, half from 7, then nothing', () => {
    expect(amount(b('strict'), 14 * 24)).toBe(30000);
    expect(amount(b('strict'), 14 * 24 - 1)).toBe(15000);
    expect(amount(b('strict'), 7 * 24)).toBe(15000);
    expect(amount(b('strict'), 7 * 24 - 1)).toBe(0);
  });
  it('a landlord cancelling refunds everything', () => {
    expect(amount(b('strict'), 1, 'landlord')).toBe(30000);
  });
  it('nothing was paid before the booking is confirmed', () => {
    const r = refundPreview(b('strict', { status: 'pending_payment' }), { now: start - H });
    expect(r).toMatchObject({ refund: null, allowed: true });
    expect(r.why).toMatch(/Nothing was paid/);
  });
  it('no cancellation once the stay has begun, or after it ended', () => {
    expect(refundPreview(b('flexible'), { now: start })).toMatchObject({ allowed: false });
    expect(refundPreview(b('flexible', { status: 'cancelled' }), { now: start - 100 * H })).toMatchObject({ allowed: false });
  });
});
