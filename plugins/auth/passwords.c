/*
 * passwords.c — argon2id through libsodium's crypto_pwhash_str.  These
 * functions are CPU- and memory-heavy by design: call them only from a
 * host->work() function (a pool thread), never on the event loop.
 */
#include "auth.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

int pw_hash(const char *password, char out[128])
{
    return crypto_pwhash_str(out, password, strlen(password), auth_g.opslimit, auth_g.memlimit);
}

int pw_verify(const char *hash, const char *password)
{
    /* libsodium compares the derived key in constant time. */
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

int pw_init(char *err, size_t errlen)
{
    /* The dummy hash has the configured cost, so a login for an unknown
     * e-mail spends the same time as one with a wrong password. */
    unsigned char rnd[24];
    char pw[sizeof(rnd) * 2 + 1];
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
    int rc = pw_hash(pw, auth_g.dummy_hash);
    sodium_memzero(pw, sizeof(pw));
    if (rc != 0) {
        snprintf(err, errlen, "argon2id failed with opslimit %llu, memlimit %zu (out of memory?)",
                 auth_g.opslimit, auth_g.memlimit);
        return -1;
    }
    return 0;
}
