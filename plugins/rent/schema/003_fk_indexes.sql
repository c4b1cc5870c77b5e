-- rent 3: plain indexes under the foreign keys.  The partial ones of
-- migration 1 (open charges, live payments) cannot serve the checks that
-- deleting or re-keying a lease, charge or payment makes, which would then
-- scan the whole table once per row.
CREATE INDEX charges_lease ON rent.charges (lease_id);
CREATE INDEX charges_parent ON rent.charges (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX payments_charge ON rent.payments (charge_id) WHERE charge_id IS NOT NULL;
CREATE INDEX refunds_payment ON rent.refunds (payment_id);
