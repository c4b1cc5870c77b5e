// Money is {amount: integer minor units, currency: ISO 4217} (docs/api-conventions.md).
const DIGITS = { JPY: 0, KRW: 0, ISK: 0, CLP: 0, VND: 0, BHD: 3, KWD: 3, JOD: 3, OMR: 3, TND: 3 };

export function minorDigits(currency) {
  return DIGITS[currency] ?? 2;
}

export function formatMoney(m, locale = 'en-IE') {
  if (!m || typeof m.amount !== 'number' || !Number.isInteger(m.amount) || !m.currency) return '';
  const d = minorDigits(m.currency);
  const value = m.amount / 10 ** d;
  try {
    return new Intl.NumberFormat(locale, {
      style: 'currency', currency: m.currency, minimumFractionDigits: d, maximumFractionDigits: d,
    }).format(value);
  } catch {
    return `${value.toFixed(d)} ${m.currency}`;
  }
}

// "90", "90.5", "1,234.50" -> integer minor units; null when not a valid amount.
export function parseMoney(text, currency = 'EUR') {
  if (text === null || text === undefined) return null;
  const s = String(text).trim().replace(/[,\s]/g, '');
  const d = minorDigits(currency);
  const re = d === 0 ? /^\d+$/ : new RegExp(`^\\d+(\\.\\d{1,${d}})?$`);
  if (!re.test(s)) return null;
  const [whole, frac = ''] = s.split('.');
  const n = Number(whole) * 10 ** d + Number((frac + '000').slice(0, d) || 0);
  return Number.isSafeInteger(n) ? n : null;
}
