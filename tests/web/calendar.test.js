import { addMonths, monthGrid, parseIcs, stayIsFree, takenNights } from '../../web/src/lib/calendar.js';

const ICS = [
  'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//RentEzy//booking//EN',
  'BEGIN:VEVENT', 'UID:a@rentezy', 'DTSTART;VALUE=DATE:20270330', 'DTEND;VALUE=DATE:20270402', 'SUMMARY:Booked', 'END:VEVENT',
  'BEGIN:VEVENT', 'UID:b@rentezy', 'DTSTART;VALUE=DATE:20270405', 'DTEND;VALUE=DATE:', ' 20270407', 'SUMMARY:Blocked', 'END:VEVENT',
  'END:VCALENDAR', '',
].join('\r\n');

describe('the listing calendar', () => {
  it('parses all-day events, unfolding continued lines', () => {
    expect(parseIcs(ICS)).toEqual([
      { kind: 'Booked', start: '2027-03-30', end: '2027-04-02' },
      { kind: 'Blocked', start: '2027-04-05', end: '2027-04-07' },
    ]);
    expect(parseIcs('garbage')).toEqual([]);
  });
  it('takes the nights, not the check-out day, across a month end', () => {
    const t = takenNights(parseIcs(ICS));
    expect(t).toEqual({ '2027-03-30': 'Booked', '2027-03-31': 'Booked', '2027-04-01': 'Booked', '2027-04-05': 'Blocked', '2027-04-06': 'Blocked' });
    expect(stayIsFree(t, '2027-04-02', '2027-04-05')).toBe(true);
    expect(stayIsFree(t, '2027-04-01', '2027-04-03')).toBe(false);
    expect(stayIsFree(t, '2027-04-03', '2027-04-08')).toBe(false);
  });
  it('lays a month out in weeks starting on Monday', () => {
    const g = monthGrid('2027-02-01'); // 1 Feb 2027 is a Monday, 28 days
    expect(g).toHaveLength(4);
    expect(g[0][0]).toBe('2027-02-01');
    const m = monthGrid('2027-03-01'); // a Monday again, 31 days
    expect(m[4].filter(Boolean)).toEqual(['2027-03-29', '2027-03-30', '2027-03-31']);
    const s = monthGrid('2026-11-01'); // a Sunday: six blanks first
    expect(s[0].slice(0, 6)).toEqual([null, null, null, null, null, null]);
    expect(s[0][6]).toBe('2026-11-01');
  });
  it('moves by months across years', () => {
    expect(addMonths('2026-12-01', 1)).toBe('2027-01-01');
    expect(addMonths('2027-01-01', -1)).toBe('2026-12-01');
  });
});
