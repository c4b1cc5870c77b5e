// The calendar of a listing: iCalendar from GET /v1/properties/{id}/calendar.ics
// (all-day events; DTEND is the check-out day, which stays free) -> the set
// of taken nights, and a month grid to show them.
const DAY = 86400000;
const iso = (ms) => new Date(ms).toISOString().slice(0, 10);

// -> [{start: 'YYYY-MM-DD', end: 'YYYY-MM-DD', kind: 'Booked'|'Blocked'}]
export function parseIcs(text) {
  const lines = String(text || '').replace(/\r?\n[ \t]/g, '').split(/\r?\n/); // unfold
  const out = [];
  let ev = null;
  for (const l of lines) {
    if (l === 'BEGIN:VEVENT') ev = {};
    else if (l === 'END:VEVENT') { if (ev?.start && ev.end) out.push({ kind: 'Booked', ...ev }); ev = null; }
    else if (ev) {
      const m = l.match(/^(DTSTART|DTEND)(?:;[^:]*)?:(\d{4})(\d{2})(\d{2})/);
      if (m) ev[m[1] === 'DTSTART' ? 'start' : 'end'] = `${m[2]}-${m[3]}-${m[4]}`;
      else if (l.startsWith('SUMMARY:')) ev.kind = l.slice(8).trim();
    }
  }
  return out;
}

// {night 'YYYY-MM-DD': 'Booked'|'Blocked'}
export function takenNights(events) {
  const m = {};
  for (const e of events) {
    const a = Date.parse(e.start + 'T00:00:00Z'), b = Date.parse(e.end + 'T00:00:00Z');
    if (Number.isNaN(a) || Number.isNaN(b) || b - a > 800 * DAY) continue;
    for (let t = a; t < b; t += DAY) if (m[iso(t)] !== 'Booked') m[iso(t)] = e.kind;
  }
  return m;
}

// Weeks (Monday first) of the month of `first` ('YYYY-MM-01'): arrays of 7
// 'YYYY-MM-DD' or null outside the month.
export function monthGrid(first) {
  const [y, mo] = first.split('-').map(Number);
  const start = Date.UTC(y, mo - 1, 1), days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  const lead = (new Date(start).getUTCDay() + 6) % 7;
  const cells = Array(lead).fill(null);
  for (let d = 0; d < days; d++) cells.push(iso(start + d * DAY));
  while (cells.length % 7) cells.push(null);
  const weeks = [];
  for (let i = 0; i < cells.length; i += 7) weeks.push(cells.slice(i, i + 7));
  return weeks;
}

export function addMonths(first, n) {
  const [y, mo] = first.split('-').map(Number);
  return iso(Date.UTC(y, mo - 1 + n, 1));
}

// Does a stay [check_in, check_out) touch a taken night?
export function stayIsFree(taken, checkIn, checkOut) {
  const a = Date.parse(checkIn + 'T00:00:00Z'), b = Date.parse(checkOut + 'T00:00:00Z');
  if (Number.isNaN(a) || Number.isNaN(b)) return true;
  for (let t = a; t < b; t += DAY) if (taken[iso(t)]) return false;
  return true;
}
