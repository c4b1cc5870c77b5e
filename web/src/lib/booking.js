// Booking form validation, before asking the API (which checks again and
// whose errors are shown next to the field they name).
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function nightsBetween(a, b) {
  if (!DATE.test(a || '') || !DATE.test(b || '')) return NaN;
  const ms = Date.parse(b + 'T00:00:00Z') - Date.parse(a + 'T00:00:00Z');
  return Math.round(ms / 86400000);
}

export function todayISO(now = new Date()) {
  return now.toISOString().slice(0, 10);
}

// form: {check_in, check_out, guests}; listing: {max_guests, min_nights, max_nights}
// -> {field: message}; empty when valid.
export function validateBooking(form, listing = {}, today = todayISO()) {
  const e = {};
  const valid = (d) => DATE.test(d || '') && !Number.isNaN(Date.parse(d + 'T00:00:00Z'));
  if (!form.check_in) e.check_in = 'Choose a check-in date';
  else if (!valid(form.check_in)) e.check_in = 'Use the format YYYY-MM-DD';
  else if (form.check_in < today) e.check_in = 'Check-in cannot be in the past';
  if (!form.check_out) e.check_out = 'Choose a check-out date';
  else if (!valid(form.check_out)) e.check_out = 'Use the format YYYY-MM-DD';
  if (!e.check_in && !e.check_out) {
    const n = nightsBetween(form.check_in, form.check_out);
    if (n < 1) e.check_out = 'Check-out must be after check-in';
    else if (listing.min_nights && n < listing.min_nights) e.check_out = `At least ${listing.min_nights} nights`;
    else if (listing.max_nights && n > listing.max_nights) e.check_out = `At most ${listing.max_nights} nights`;
    else if (n > 366) e.check_out = 'At most 366 nights';
  }
  const g = Number(form.guests);
  if (form.guests === '' || form.guests === undefined || !Number.isInteger(g) || g < 1) e.guests = 'At least 1 guest';
  else if (listing.max_guests && g > listing.max_guests) e.guests = `At most ${listing.max_guests} guests`;
  return e;
}

export function bookingBody(propertyId, form) {
  return { property_id: propertyId, check_in: form.check_in, check_out: form.check_out, guests: Number(form.guests) };
}
