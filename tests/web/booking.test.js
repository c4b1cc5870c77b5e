import { bookingBody, nightsBetween, validateBooking } from '../../web/src/lib/booking.js';

const today = '2027-03-01';
const listing = { max_guests: 4, min_nights: 2, max_nights: 14 };
const v = (form) => validateBooking({ check_in: '2027-03-10', check_out: '2027-03-13', guests: '2', ...form }, listing, today);

describe('validateBooking', () => {
  it('accepts a valid stay', () => expect(v({})).toEqual({}));
  it('needs both dates', () => {
    expect(v({ check_in: '' })).toHaveProperty('check_in', 'Choose a check-in date');
    expect(v({ check_out: '' })).toHaveProperty('check_out', 'Choose a check-out date');
  });
  it('refuses malformed and past dates', () => {
    expect(v({ check_in: '10/03/2027' })).toHaveProperty('check_in', 'Use the format YYYY-MM-DD');
    expect(v({ check_in: '2027-02-27' })).toHaveProperty('check_in', 'Check-in cannot be in the past');
  });
  it('puts the date order and stay length on check-out', () => {
    expect(v({ check_out: '2027-03-10' })).toEqual({ check_out: 'Check-out must be after check-in' });
    expect(v({ check_out: '2027-03-11' })).toEqual({ check_out: 'At least 2 nights' });
    expect(v({ check_out: '2027-04-10' })).toEqual({ check_out: 'At most 14 nights' });
  });
  it('checks guests against the listing', () => {
    expect(v({ guests: '0' })).toEqual({ guests: 'At least 1 guest' });
    expect(v({ guests: '' })).toEqual({ guests: 'At least 1 guest' });
    expect(v({ guests: '1.5' })).toEqual({ guests: 'At least 1 guest' });
    expect(v({ guests: '5' })).toEqual({ guests: 'At most 4 guests' });
  });
});

describe('nightsBetween and bookingBody', () => {
  it('counts nights across a month end and DST', () => {
    expect(nightsBetween('2027-03-27', '2027-04-02')).toBe(6);
    expect(nightsBetween('x', '2027-04-02')).toBeNaN();
  });
  it('builds the API body with a numeric guest count', () => {
    expect(bookingBody('id-1', { check_in: 'a', check_out: 'b', guests: '3' }))
      .toEqual({ property_id: 'id-1', check_in: 'a', check_out: 'b', guests: 3 });
  });
});
