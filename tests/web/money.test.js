import { formatMoney, parseMoney, minorDigits } from '../../web/src/lib/money.js';

describe('formatMoney', () => {
  it('formats minor units with the currency', () => {
    expect(formatMoney({ amount: 9000, currency: 'EUR' })).toBe('€90.00');
    expect(formatMoney({ amount: 123456, currency: 'EUR' })).toBe('€1,234.56');
    expect(formatMoney({ amount: 5, currency: 'USD' }, 'en-US')).toBe('$0.05');
  });
  it('knows currencies without or with three minor digits', () => {
    expect(minorDigits('JPY')).toBe(0);
    expect(formatMoney({ amount: 1500, currency: 'JPY' }, 'en-US')).toBe('¥1,500');
    expect(formatMoney({ amount: 1500, currency: 'KWD' }, 'en-US')).toMatch(/1\.500/);
  });
  it('is empty for missing or non-integer amounts', () => {
    expect(formatMoney(null)).toBe('');
    expect(formatMoney({ amount: 1.5, currency: 'EUR' })).toBe('');
    expect(formatMoney({ amount: 100 })).toBe('');
  });
});

describe('parseMoney', () => {
  it('reads amounts into minor units without floats', () => {
    expect(parseMoney('90')).toBe(9000);
    expect(parseMoney('90.5')).toBe(9050);
    expect(parseMoney('0.29')).toBe(29);
    expect(parseMoney(' 1,234.56 ')).toBe(123456);
    expect(parseMoney('1500', 'JPY')).toBe(1500);
  });
  it('refuses what is not an amount', () => {
    for (const s of ['', 'abc', '-5', '1.234', '1e3', '12.', null]) expect(parseMoney(s)).toBeNull();
    expect(parseMoney('15.5', 'JPY')).toBeNull();
  });
});
