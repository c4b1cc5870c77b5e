import { remaining, spoken } from '../../web/src/lib/countdown.js';

const at = (s) => Date.parse('2027-03-01T10:00:00Z') + s * 1000;
const END = '2027-03-01T10:15:00Z';

describe('remaining (the hold countdown)', () => {
  it('shows minutes and seconds', () => {
    expect(remaining(END, at(0))).toEqual({ ms: 900000, text: '15:00', expired: false });
    expect(remaining(END, at(30))).toMatchObject({ text: '14:30', expired: false });
    expect(remaining(END, at(899))).toMatchObject({ text: '0:01' });
  });
  it('rounds a part second up, so 0:00 means expired', () => {
    expect(remaining(END, at(899.2))).toMatchObject({ text: '0:01', expired: false });
    expect(remaining(END, at(900))).toEqual({ ms: 0, text: '0:00', expired: true });
    expect(remaining(END, at(5000))).toEqual({ ms: 0, text: '0:00', expired: true });
  });
  it('shows hours for long holds (a landlord has 24 h to answer)', () => {
    expect(remaining('2027-03-02T10:00:00Z', at(0)).text).toBe('24:00:00');
    expect(remaining('2027-03-01T11:01:05Z', at(0)).text).toBe('1:01:05');
  });
  it('is empty without a deadline', () => {
    expect(remaining(null, at(0)).text).toBe('');
    expect(remaining('soon', at(0)).text).toBe('');
  });
  it('speaks in minutes', () => {
    expect(spoken(900000)).toBe('15 minutes left to pay');
    expect(spoken(61000)).toBe('2 minutes left to pay');
    expect(spoken(30000)).toBe('Less than a minute left to pay');
    expect(spoken(0)).toBe('The hold has expired');
  });
});
