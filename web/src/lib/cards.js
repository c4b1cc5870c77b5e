// The sandbox payment provider's test cards (the rent plugin's tokens).  The
// app never sends card numbers: a test number picks a sandbox token.
export const TEST_CARDS = [
  { number: '4242 4242 4242 4242', token: 'tok_ok', label: 'succeeds' },
  { number: '4000 0000 0000 0002', token: 'tok_decline', label: 'is declined' },
  { number: '4000 0000 0000 9995', token: 'tok_insufficient', label: 'has insufficient funds' },
  { number: '4000 0000 0000 0077', token: 'tok_async_ok', label: 'succeeds a little later' },
];

export function luhnOk(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  }
  return digits.length >= 12 && sum % 10 === 0;
}

// -> {token} or {error} (shown next to the card field)
export function cardToken(text) {
  const digits = String(text || '').replace(/[\s-]/g, '');
  if (!digits) return { error: 'Enter a card number' };
  if (!/^\d+$/.test(digits)) return { error: 'A card number has only digits' };
  if (!luhnOk(digits)) return { error: 'This card number is not valid' };
  const c = TEST_CARDS.find((t) => t.number.replace(/ /g, '') === digits);
  if (!c) return { error: 'This is a sandbox: use one of the test cards' };
  return { token: c.token };
}
