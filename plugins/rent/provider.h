/*
 * provider.h — the payment provider interface of the rent plugin.
 *
 * Written so that it can move into the SDK unchanged (see the proposed
 * addition to plugin.h in docs/decisions/0009-rent.md): a provider is a
 * const table of function pointers that carries its size, grows only at its
 * end, and is called on the worker's loop thread.
 *
 * Both money calls are asynchronous.  They return RZ_OK and call cb exactly
 * once later (never from inside the call), or return a negative RZ_E* code
 * and never call cb (libuv's rule).  A result with status RP_PENDING means
 * the provider answers later through its signed webhook.  cb gets NULL when
 * the provider could not be reached: the caller retries with the same
 * idempotency key, which never charges twice.
 */
#ifndef RENT_PROVIDER_H
#define RENT_PROVIDER_H

#include <rentezy/plugin.h>

#include <stddef.h>
#include <stdint.h>

enum rp_status { RP_SUCCEEDED = 0, RP_PENDING, RP_FAILED };

/* One answer; strings are owned by the provider and valid during cb. */
typedef struct rp_result {
    int status;        /* enum rp_status */
    const char *code;  /* RP_FAILED: "card_declined", "insufficient_funds", ... */
    int retryable;     /* RP_FAILED: 1 when a later attempt may succeed */
    const char *ref;   /* the provider's id of the charge or refund */
} rp_result_t;

typedef void (*rp_cb)(const rp_result_t *r, void *udata);

typedef struct rp_charge {
    const char *idem_key; /* the same key never charges twice; <= 128 bytes */
    int64_t amount;       /* minor units, > 0 */
    const char *currency; /* ISO 4217 */
    const char *method;   /* the payment method token */
    const char *group;    /* what is paid (charge or booking id): metadata */
} rp_charge_t;

/* A verified webhook delivery, decoded.  Strings point into the body's
 * JSON tree owned by the caller. */
typedef struct rp_event {
    const char *event_id;
    const char *idem_key; /* of the charge it settles */
    const char *ref;
    const char *code;
    int status;           /* RP_SUCCEEDED or RP_FAILED */
    int retryable;
} rp_event_t;

typedef struct rp_provider {
    uint32_t size; /* sizeof(rp_provider_t) */
    const char *name;
    int (*charge)(const rp_charge_t *c, rp_cb cb, void *udata);
    int (*refund)(const char *idem_key, const char *charge_ref, int64_t amount,
                  const char *currency, rp_cb cb, void *udata);
    /* Check the signature header of a webhook body at now_ms: RZ_OK,
     * RZ_EINVAL (missing, malformed or wrong signature) or RZ_ETIMEDOUT
     * (outside the tolerance).  Constant time in the signature. */
    int (*verify)(const char *signature, const void *body, size_t len, int64_t now_ms);
    /* Decode a verified body into ev (strings point into *tree, which the
     * caller frees with cJSON_Delete).  RZ_OK or RZ_EINVAL. */
    int (*parse)(const void *body, size_t len, cJSON **tree, rp_event_t *ev);
} rp_provider_t;

#endif
