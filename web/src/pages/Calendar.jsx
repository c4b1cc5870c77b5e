// Free and taken nights of a listing, a month at a time (from the listing's
// iCalendar, the booking plugin's public feed of booked and blocked dates).
import { useEffect, useState } from 'react';
import { api } from '../api.js';
import { addMonths, monthGrid, parseIcs, takenNights } from '../lib/calendar.js';

export function useTaken(id, reloadKey = 0) {
  const [taken, setTaken] = useState({});
  const [err, setErr] = useState('');
  useEffect(() => {
    api(`/v1/properties/${id}/calendar.ics`, { text: true })
      .then((t) => { setTaken(takenNights(parseIcs(t))); setErr(''); }, (e) => setErr('The calendar cannot be shown: ' + e.message));
  }, [id, reloadKey]);
  return [taken, err];
}

const WEEK = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
// "1 December 2026": starts with the visible number (the accessible name
// must contain the text a speech user sees)
const dayName = (d) => new Date(d + 'T00:00:00Z').toLocaleDateString('en-IE', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
const monthName = (first) => new Date(first + 'T00:00:00Z').toLocaleDateString('en-IE', { month: 'long', year: 'numeric', timeZone: 'UTC' });

export default function Calendar({ taken, err, today, onPick, from, to }) {
  const [first, setFirst] = useState(today.slice(0, 8) + '01');
  const months = [first, addMonths(first, 1)];
  return (
    <section className="calendar" aria-labelledby="cal-h">
      <h2 id="cal-h">Availability</h2>
      {err && <p className="error" role="alert">{err}</p>}
      <div className="cal-nav">
        <button type="button" onClick={() => setFirst(addMonths(first, -1))} disabled={first <= today.slice(0, 8) + '01'}>Previous month</button>
        <button type="button" onClick={() => setFirst(addMonths(first, 1))}>Next month</button>
      </div>
      <div className="months">
        {months.map((m) => (
          <table key={m} className="month">
            <caption>{monthName(m)}</caption>
            <thead><tr>{WEEK.map((d) => <th key={d} scope="col" abbr={d}>{d.slice(0, 2)}</th>)}</tr></thead>
            <tbody>
              {monthGrid(m).map((w, i) => (
                <tr key={i}>{w.map((d, j) => {
                  if (!d) return <td key={j} />;
                  const kind = taken[d] ? 'taken' : d < today ? 'past' : 'free';
                  const chosen = from && (d === from || (to && d >= from && d < to));
                  const text = (kind === 'taken' ? taken[d].toLowerCase() : kind) + (chosen ? ', chosen' : '');
                  return (
                    <td key={j} className={'day ' + kind + (chosen ? ' chosen' : '')} data-date={d}>
                      {onPick && kind === 'free'
                        ? <button type="button" className="daybtn" aria-label={`${dayName(d)}, ${text}`} aria-pressed={!!chosen} onClick={() => onPick(d)}>{Number(d.slice(8))}</button>
                        : <span aria-label={`${dayName(d)}, ${text}`}>{Number(d.slice(8))}</span>}
                    </td>
                  );
                })}</tr>
              ))}
            </tbody>
          </table>
        ))}
      </div>
      <p className="legend"><span className="day free">free</span> <span className="day taken">booked or blocked</span></p>
    </section>
  );
}
