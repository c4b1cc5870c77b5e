import { emptySearch, searchErrors, searchToQuery, toggle } from '../../web/src/lib/search.js';

const q = (over, opts) => searchToQuery({ ...emptySearch(), ...over }, opts);

describe('searchToQuery', () => {
  it('asks for facets and nothing else by default', () => {
    expect(q({})).toBe('facets=type%2Camenities%2Cprice');
    expect(q({}, { facets: false })).toBe('');
  });
  it('trims and collapses the words', () => {
    expect(q({ q: '  sunny   loft ' }, { facets: false })).toBe('q=sunny+loft');
  });
  it('turns the price range into minor units', () => {
    expect(q({ priceMin: '80', priceMax: '150.50' }, { facets: false })).toBe('price_min=8000&price_max=15050');
  });
  it('drops an invalid or inverted price bound', () => {
    expect(q({ priceMin: 'abc', priceMax: '100' }, { facets: false })).toBe('price_max=10000');
    expect(q({ priceMin: '200', priceMax: '100' }, { facets: false })).toBe('price_min=20000');
  });
  it('sorts and de-duplicates types and amenities, ignoring unknown ones', () => {
    expect(q({ types: ['loft', 'apartment', 'loft', 'castle'], amenities: ['wifi', 'balcony'] }, { facets: false }))
      .toBe('type=apartment%2Cloft&amenities=balcony%2Cwifi');
  });
  it('sends dates only as a valid pair, guests only when sensible', () => {
    expect(q({ checkIn: '2027-01-10', checkOut: '2027-01-12', guests: '2' }, { facets: false }))
      .toBe('guests=2&check_in=2027-01-10&check_out=2027-01-12');
    expect(q({ checkIn: '2027-01-12', checkOut: '2027-01-10', guests: '0' }, { facets: false })).toBe('');
  });
  it('leaves the default sort out', () => {
    expect(q({ sort: 'relevance' }, { facets: false })).toBe('');
    expect(q({ sort: 'price_asc' }, { facets: false })).toBe('sort=price_asc');
    expect(q({ sort: 'bogus' }, { facets: false })).toBe('');
  });
  it('gives equal strings for equal states', () => {
    expect(q({ types: ['house', 'loft'] })).toBe(q({ types: ['loft', 'house'] }));
  });
});

describe('searchErrors', () => {
  it('names the price field that is wrong', () => {
    expect(searchErrors({ ...emptySearch(), priceMin: 'x' })).toHaveProperty('priceMin');
    expect(searchErrors({ ...emptySearch(), priceMin: '100', priceMax: '50' })).toEqual({ priceMax: 'The maximum is below the minimum' });
    expect(searchErrors({ ...emptySearch(), priceMin: '50', priceMax: '100' })).toEqual({});
  });
});

describe('toggle', () => {
  it('adds and removes', () => {
    expect(toggle(['a'], 'b')).toEqual(['a', 'b']);
    expect(toggle(['a', 'b'], 'a')).toEqual(['b']);
  });
});
