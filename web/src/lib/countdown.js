// The hold of a pending_payment booking: how long is left until expires_at.
// remaining('2027-03-01T10:05:00Z', Date.parse('2027-03-01T10:00:30Z'))
//   -> {ms: 270000, text: '4:30', expired: false}
export function remaining(expiresAt, now = Date.now()) {
  const end = Date.parse(expiresAt || '');
  if (Number.isNaN(end)) return { ms: NaN, text: '', expired: false };
  const ms = Math.max(0, end - now);
  const s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const pad = (n) => String(n).padStart(2, '0');
  const text = h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
  return { ms, text, expired: ms === 0 };
}

// Words for a screen reader, announced less often than the visible clock.
export function spoken(ms) {
  if (!(ms > 0)) return 'The hold has expired';
  const min = Math.ceil(ms / 60000);
  return min <= 1 ? 'Less than a minute left to pay' : `${min} minutes left to pay`;
}
