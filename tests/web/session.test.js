import { needsRefresh, sessionFromTokens } from '../../web/src/api.js';

describe('the session and its renewal', () => {
  const now = Date.parse('2027-03-01T10:00:00Z');
  const s = sessionFromTokens({ access_token: 'a', refresh_token: 'r', expires_in: 900 }, { id: 'u', name: 'Lou', role: 'landlord' }, now);
  it('keeps the tokens, the expiry and the user', () => {
    expect(s).toEqual({ token: 'a', refresh: 'r', exp: now + 900000, ttl: 900000, id: 'u', name: 'Lou', role: 'landlord' });
  });
  it('renews at most 30 s before the end', () => {
    expect(needsRefresh(s, now)).toBe(false);
    expect(needsRefresh(s, now + 870001)).toBe(true);
    expect(needsRefresh(s, now + 869000)).toBe(false);
  });
  it('renews a short-lived token a quarter of its life before the end', () => {
    const short = sessionFromTokens({ access_token: 'a', refresh_token: 'r', expires_in: 60 }, {}, now);
    expect(needsRefresh(short, now + 44000)).toBe(false);
    expect(needsRefresh(short, now + 46000)).toBe(true);
  });
  it('never without a refresh token', () => {
    expect(needsRefresh({ ...s, refresh: undefined }, now + 10 ** 9)).toBe(false);
    expect(needsRefresh(null)).toBe(false);
  });
});
