import { idemKey } from '../../web/src/lib/idem.js';

describe('idemKey (one Idempotency-Key per payment attempt)', () => {
  let n = 0;
  const gen = () => `k${++n}`;
  it('keeps the key to resend the same request, changes it for another', () => {
    const ref = { current: null };
    const a = { purpose: 'booking', booking_id: 'b1', payment_method: 'tok_decline' };
    const k1 = idemKey(ref, a, gen);
    expect(idemKey(ref, { ...a }, gen)).toBe(k1); // a resend after a network error
    expect(idemKey(ref, { ...a, payment_method: 'tok_ok' }, gen)).not.toBe(k1); // another card
  });
  it('after an answer (the caller clears it) the same card is a new payment', () => {
    const ref = { current: null };
    const body = { purpose: 'rent', charge_id: 'c1', payment_method: 'tok_ok' };
    const k1 = idemKey(ref, body, gen);
    ref.current = null;
    expect(idemKey(ref, body, gen)).not.toBe(k1);
  });
});
