// The Idempotency-Key of a payment.  The same key only to resend the same
// request after a network error (the answer was lost); any other attempt is
// a new payment with a new key: rent treats a failure as final for its key.
//   ref: {current} kept by the form; the caller clears ref.current once the
//   API has answered (success or failure alike).
export function idemKey(ref, body, newKey) {
  const text = JSON.stringify(body);
  if (!ref.current || ref.current.text !== text) ref.current = { key: newKey(), text };
  return ref.current.key;
}
