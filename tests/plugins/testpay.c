/*
 * testpay — a third-party payment provider for the rent plugin's tests: it
 * publishes "payment.provider.testpay" (rentezy/payment.h) with the host's
 * iface_provide (ABI 1.2).  Tokens: tp_ok succeeds, tp_decline fails for
 * good, anything else fails as retryable.  Answers come later, from a
 * one-shot timer, never from inside the call (the interface's rule); the
 * same idempotency key gets the first answer again (remembered per process,
 * enough for a test).  It sends no webhooks, so it accepts none.
 */
#include <rentezy/payment.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_KEYS 4096

static const rz_host_t *H;
static rz_plugin_t *S;

static struct { char key[130]; int status, retryable; char ref[48]; } seen[MAX_KEYS];
static int nseen, counter;

typedef struct answer {
    rz_pay_cb cb;
    void *udata;
    int i; /* index in seen */
} answer_t;

static void fire(void *u)
{
    answer_t *a = u;
    rz_pay_result_t r = {.status = seen[a->i].status, .retryable = seen[a->i].retryable,
                         .ref = seen[a->i].ref,
                         .code = seen[a->i].status == RZ_PAY_FAILED
                                     ? (seen[a->i].retryable ? "processing_error" : "card_declined")
                                     : NULL};
    a->cb(&r, a->udata);
    free(a);
}

/* Remember (or find) the answer for key; -1 when full. */
static int answer_for(const char *key, const char *method)
{
    for (int i = 0; i < nseen; i++)
        if (strcmp(seen[i].key, key) == 0)
            return i;
    if (nseen == MAX_KEYS || strlen(key) >= sizeof(seen[0].key))
        return -1;
    int i = nseen++;
    snprintf(seen[i].key, sizeof(seen[i].key), "%s", key);
    snprintf(seen[i].ref, sizeof(seen[i].ref), "tp_%d_%d", (int)getpid(), ++counter);
    seen[i].status = method && strcmp(method, "tp_ok") == 0 ? RZ_PAY_SUCCEEDED : RZ_PAY_FAILED;
    seen[i].retryable = !method || strcmp(method, "tp_decline") != 0;
    return i;
}

static int later(const char *key, const char *method, rz_pay_cb cb, void *udata)
{
    int i = answer_for(key, method);
    answer_t *a = i < 0 ? NULL : malloc(sizeof(*a));
    if (!a)
        return RZ_ENOMEM;
    *a = (answer_t){.cb = cb, .udata = udata, .i = i};
    if (!H->timer_start(S, 1, 0, fire, a)) {
        free(a);
        return RZ_ENOMEM;
    }
    return RZ_OK;
}

static int charge(void *state, const rz_pay_charge_t *c, rz_pay_cb cb, void *udata)
{
    (void)state;
    if (!c || c->amount <= 0 || !c->idem_key || !c->currency)
        return RZ_EINVAL;
    return later(c->idem_key, c->method, cb, udata);
}

static int refund(void *state, const rz_pay_refund_t *r, rz_pay_cb cb, void *udata)
{
    (void)state;
    if (!r || r->amount <= 0 || !r->idem_key)
        return RZ_EINVAL;
    return later(r->idem_key, "tp_ok", cb, udata);
}

static int verify(void *state, const char *sig, const void *body, size_t len, int64_t now_ms)
{
    (void)state, (void)sig, (void)body, (void)len, (void)now_ms;
    return RZ_EINVAL;
}

static int parse(void *state, const void *body, size_t len, cJSON **tree, rz_pay_event_t *ev)
{
    (void)state, (void)body, (void)len, (void)ev;
    *tree = NULL;
    return RZ_EINVAL;
}

static const rz_pay_provider_t provider = {
    .size = sizeof(rz_pay_provider_t), .name = "testpay", .signature_header = "Testpay-Signature",
    .charge = charge, .refund = refund, .verify = verify, .parse = parse};

static int init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    (void)state;
    if (host->abi_minor < 2)
        return RZ_EINVAL;
    H = host;
    S = self;
    return host->iface_provide(self, RZ_PAY_IFACE_PREFIX "testpay", &provider);
}
RZ_PLUGIN_DEFINE(.name = "testpay", .version = "1.0.0",
                 .description = "a test payment provider (payment.provider.testpay)", .init = init)
