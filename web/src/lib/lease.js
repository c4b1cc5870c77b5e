// Leases: the landlord's form -> POST /v1/leases, and what is left to pay.
import { parseMoney } from './money.js';

export const blankLease = (tenant = '', property = '') => ({
  tenant_id: tenant, property_id: property, rent: '', currency: 'EUR', start_date: '', end_date: '', due_day: '1',
  grace_days: '3', reminder_days: '3', fee_type: 'fixed', fee_amount: '25', time_zone: 'Europe/Dublin',
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// -> {body} or {errors: {field: message}} (field names as the API's)
export function leaseBody(f) {
  const e = {};
  if (!UUID.test(f.tenant_id)) e.tenant_id = 'The tenant is missing';
  if (!UUID.test(f.property_id)) e.property_id = 'The listing is missing';
  const rent = parseMoney(f.rent, f.currency);
  if (rent === null || rent <= 0) e.monthly_rent = 'Enter the monthly rent, such as 1200';
  if (!f.start_date) e.start_date = 'Choose the first day of the lease';
  if (f.end_date && f.start_date && f.end_date <= f.start_date) e.end_date = 'The end is after the start';
  const due = Number(f.due_day);
  if (!Number.isInteger(due) || due < 1 || due > 28) e.due_day = 'A day from 1 to 28';
  const grace = Number(f.grace_days);
  if (!Number.isInteger(grace) || grace < 0 || grace > 27) e.grace_days = 'From 0 to 27 days';
  let fee = { type: 'none' };
  if (f.fee_type === 'fixed' || f.fee_type === 'daily') {
    const a = parseMoney(f.fee_amount, f.currency);
    if (a === null) e.late_fee = 'Enter the late fee, such as 25';
    else fee = { type: f.fee_type, amount: a };
  }
  if (Object.keys(e).length) return { errors: e };
  const body = {
    tenant_id: f.tenant_id, property_id: f.property_id, monthly_rent: { amount: rent, currency: f.currency },
    start_date: f.start_date, due_day: due, grace_days: grace, reminder_days: Number(f.reminder_days) || 0,
    late_fee: fee, time_zone: f.time_zone || 'UTC',
  };
  if (f.end_date) body.end_date = f.end_date;
  return { body };
}

// What is left to pay on each charge of a ledger.  The ledger's entries do
// not say which charge a payment paid: the payments (GET /v1/payments/{id},
// with charge_id and status) do.  Refunds reopen nothing here (a refunded
// payment has status "refunded", not "succeeded").
//   -> {chargeId: open minor units}
export function openAmounts(entries, payments) {
  const open = {};
  for (const e of entries || []) if (e.type === 'rent' || e.type === 'late_fee') open[e.id] = (open[e.id] || 0) + (e.amount?.amount || 0);
  for (const p of payments || []) {
    if (p.status !== 'succeeded' || !(p.charge_id in open)) continue;
    open[p.charge_id] = Math.max(0, open[p.charge_id] - (p.amount?.amount || 0));
  }
  return open;
}
