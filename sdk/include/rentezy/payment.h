/*
 * rentezy/payment.h — the payment provider interface.
 *
 * A payment provider (a card processor, a bank transfer service) is a const
 * table of functions that the rent plugin calls to take and give back
 * money.  The rent plugin has one built in, `sandbox`, a processor in test
 * mode (rentezy-rent(7)); another plugin can bring its own and publish it
 * under the interface name "payment.provider.<name>" (RZ_PAY_IFACE_PREFIX)
 * where the host offers named interfaces between plugins.
 *
 * Rules, as for the host's own tables (docs/abi-versioning.md):
 *   - the table starts with its size and only grows at its end; a caller
 *     checks `size` before it uses a member added later;
 *   - every function is called on the calling worker's event loop thread
 *     and must not block it (answer later, from the same thread);
 *   - charge and refund are asynchronous with one rule: they return RZ_OK
 *     and call cb exactly once, later (never from inside the call), or they
 *     return a negative RZ_E* code and never call cb;
 *   - cb gets NULL when the provider could not be reached or its answer was
 *     lost: the caller retries later with the same idempotency key, which
 *     must never move money twice — a provider returns the first answer it
 *     gave for a key;
 *   - strings in a result or event belong to the provider (result) or to
 *     the parsed tree (event) and are valid during the callback only.
 *
 * Amounts are integer minor units (cents) of an ISO 4217 currency.
 */
#ifndef RENTEZY_PAYMENT_H
#define RENTEZY_PAYMENT_H

#include <rentezy/plugin.h> /* RZ_OK, RZ_E*, cJSON */

#ifdef __cplusplus
extern "C" {
#endif

/* The interface name under which a plugin publishes a provider:
 * RZ_PAY_IFACE_PREFIX "acme" for the provider named "acme". */
#define RZ_PAY_IFACE_PREFIX "payment.provider."

/* The outcome of a charge or refund. */
enum rz_pay_status {
    RZ_PAY_SUCCEEDED = 0, /* money moved */
    RZ_PAY_PENDING = 1,   /* accepted; the final answer comes by webhook */
    RZ_PAY_FAILED = 2     /* no money moved; see code and retryable */
};

typedef struct rz_pay_result {
    int status;       /* enum rz_pay_status */
    const char *code; /* RZ_PAY_FAILED: "card_declined", "insufficient_funds",
                       * "processing_error", ...; NULL otherwise */
    int retryable;    /* RZ_PAY_FAILED: 1 when a later attempt may succeed */
    const char *ref;  /* the provider's id of the charge or refund, or NULL */
} rz_pay_result_t;

typedef void (*rz_pay_cb)(const rz_pay_result_t *r, void *udata);

typedef struct rz_pay_charge {
    uint32_t size;         /* sizeof(rz_pay_charge_t) */
    const char *idem_key;  /* 1 to 128 bytes; the same key never charges twice */
    int64_t amount;        /* minor units, > 0 */
    const char *currency;  /* ISO 4217, upper case */
    const char *method;    /* the payment method token the payer stored */
    const char *reference; /* what is paid (a charge or booking id), for the
                            * provider's records; may be NULL */
} rz_pay_charge_t;

typedef struct rz_pay_refund {
    uint32_t size;          /* sizeof(rz_pay_refund_t) */
    const char *idem_key;   /* the same key never refunds twice */
    const char *charge_ref; /* the provider's ref of the charge refunded */
    int64_t amount;         /* minor units, > 0, at most what was charged */
    const char *currency;
} rz_pay_refund_t;

/* A webhook delivery, verified and decoded. */
typedef struct rz_pay_event {
    const char *event_id; /* unique per delivery: the caller rejects replays */
    const char *idem_key; /* of the charge or refund it settles */
    const char *ref;      /* the provider's id, or NULL */
    int status;           /* RZ_PAY_SUCCEEDED or RZ_PAY_FAILED */
    const char *code;     /* RZ_PAY_FAILED: as in rz_pay_result_t */
    int retryable;
} rz_pay_event_t;

typedef struct rz_pay_provider {
    uint32_t size;                /* sizeof(rz_pay_provider_t) */
    const char *name;             /* [a-z0-9_]+; its webhooks arrive at
                                   * POST /v1/payments/webhooks/<name> */
    const char *signature_header; /* the request header that carries the
                                   * webhook's signature */
    void *state;                  /* passed back as the first argument */

    int (*charge)(void *state, const rz_pay_charge_t *c, rz_pay_cb cb, void *udata);
    int (*refund)(void *state, const rz_pay_refund_t *r, rz_pay_cb cb, void *udata);
    /* Check a webhook's signature (the header's value, NULL when missing)
     * over the raw body at host time now_ms, in constant time: RZ_OK,
     * RZ_EINVAL (missing, malformed or wrong) or RZ_ETIMEDOUT (signed
     * outside the provider's tolerance). */
    int (*verify)(void *state, const char *signature, const void *body, size_t len,
                  int64_t now_ms);
    /* Decode a verified body: RZ_OK with *tree set (the caller frees it with
     * cJSON_Delete; ev's strings point into it), or RZ_EINVAL (*tree may be
     * set, and is freed the same way). */
    int (*parse)(void *state, const void *body, size_t len, cJSON **tree, rz_pay_event_t *ev);
} rz_pay_provider_t;

#ifdef __cplusplus
}
#endif

#endif
