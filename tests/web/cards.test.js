import { cardToken, luhnOk, TEST_CARDS } from '../../web/src/lib/cards.js';

describe('cardToken (sandbox test cards)', () => {
  it('maps every test card to its sandbox token', () => {
    for (const c of TEST_CARDS) expect(cardToken(c.number)).toEqual({ token: c.token });
    expect(cardToken('4242-4242-4242-4242')).toEqual({ token: 'tok_ok' });
  });
  it('every test card passes the Luhn check', () => {
    for (const c of TEST_CARDS) expect(luhnOk(c.number.replace(/ /g, ''))).toBe(true);
  });
  it('says what is wrong, next to the field', () => {
    expect(cardToken('')).toEqual({ error: 'Enter a card number' });
    expect(cardToken('4242 abcd')).toEqual({ error: 'A card number has only digits' });
    expect(cardToken('4242 4242 4242 4241')).toEqual({ error: 'This card number is not valid' });
    expect(cardToken('5555 5555 5555 4444')).toEqual({ error: 'This is a sandbox: use one of the test cards' });
  });
});
