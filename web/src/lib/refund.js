// What a cancellation gives back, shown before the person confirms it.  The
// same rules as the booking plugin (docs/decisions/0008-booking.md):
//   only a confirmed booking was paid; the stay begins at 00:00 UTC of
//   check_in; no cancellation once it has begun; percentages round down.
//   flexible  full refund >= 24 h before, otherwise all but the first night
//   moderate  full refund >= 5 days before, otherwise 50 %
//   strict    full refund >= 14 days before, 50 % from 7 days, else nothing
//   a landlord's cancellation refunds everything paid.
// -> {refund: {amount, currency} | null, why: text, allowed: bool}
const H = 3600000, D = 24 * H;

export function refundPreview(b, { by = 'tenant', now = Date.now() } = {}) {
  const start = Date.parse((b.check_in || '') + 'T00:00:00Z');
  if (Number.isNaN(start)) return { refund: null, allowed: false, why: 'Unknown dates' };
  if (!['requested', 'pending_payment', 'confirmed'].includes(b.status))
    return { refund: null, allowed: false, why: 'This booking cannot be cancelled' };
  if (now >= start) return { refund: null, allowed: false, why: 'The stay has begun: it cannot be cancelled' };
  if (b.status !== 'confirmed') return { refund: null, allowed: true, why: 'Nothing was paid, so nothing is refunded' };
  const total = b.total || { amount: 0, currency: 'EUR' };
  const money = (amount) => ({ amount, currency: total.currency });
  if (by === 'landlord') return { refund: money(total.amount), allowed: true, why: 'A landlord’s cancellation refunds everything paid' };
  const left = start - now;
  switch (b.cancellation_policy) {
    case 'flexible': {
      if (left >= D) return { refund: money(total.amount), allowed: true, why: 'Flexible: full refund 24 hours or more before check-in' };
      const first = b.nightly_price?.amount ?? 0;
      return { refund: money(Math.max(0, total.amount - first)), allowed: true, why: 'Flexible: less than 24 hours before check-in, the first night is kept' };
    }
    case 'moderate':
      if (left >= 5 * D) return { refund: money(total.amount), allowed: true, why: 'Moderate: full refund 5 days or more before check-in' };
      return { refund: money(Math.floor(total.amount / 2)), allowed: true, why: 'Moderate: less than 5 days before check-in, 50 % is refunded' };
    case 'strict':
      if (left >= 14 * D) return { refund: money(total.amount), allowed: true, why: 'Strict: full refund 14 days or more before check-in' };
      if (left >= 7 * D) return { refund: money(Math.floor(total.amount / 2)), allowed: true, why: 'Strict: 7 to 14 days before check-in, 50 % is refunded' };
      return { refund: money(0), allowed: true, why: 'Strict: less than 7 days before check-in, nothing is refunded' };
    default:
      return { refund: null, allowed: true, why: 'The refund follows the listing’s policy' };
  }
}
