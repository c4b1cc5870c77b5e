/*
 * mkjwt — sign test tokens, including the forged ones the host must refuse.
 *
 *   mkjwt [-a HS256|RS256|ES256|none] [-k KEYFILE] [-s SUB] [-r ROLE]
 *         [-i ISS] [-A AUD] [-e EXP_IN_S] [-n NBF_IN_S] [-t NOW_S] [-X]
 *
 * -k is the HMAC secret (HS256; trailing newlines are dropped, as the host's
 * *_file settings do) or a private key PEM (RS256, ES256).  -e and -n are
 * seconds relative to -t (default: now); -X leaves exp out.  Defaults:
 * HS256, sub "u-1", role "tenant", iss "rentezy", aud "rentezy-api",
 * exp in 900 s.  "-a none" writes an unsigned token by hand (libjwt would
 * refuse to help).  Prints the token on stdout.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jwt.h>
#include <sodium.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(65537);
    size_t n = buf ? fread(buf, 1, 65536, f) : 0;
    fclose(f);
    if (!buf)
        return NULL;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void b64(const char *in, char *out, size_t cap)
{
    sodium_bin2base64(out, cap, (const unsigned char *)in, strlen(in),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int main(int argc, char **argv)
{
    const char *alg = "HS256", *keyfile = NULL, *sub = "u-1", *role = "tenant", *iss = "rentezy",
               *aud = "rentezy-api";
    long now = (long)time(NULL), exp_in = 900, nbf_in = 0;
    int has_nbf = 0, no_exp = 0, c;
    while ((c = getopt(argc, argv, "a:k:s:r:i:A:e:n:t:X")) != -1) {
        switch (c) {
        case 'a': alg = optarg; break;
        case 'k': keyfile = optarg; break;
        case 's': sub = optarg; break;
        case 'r': role = optarg; break;
        case 'i': iss = optarg; break;
        case 'A': aud = optarg; break;
        case 'e': exp_in = atol(optarg); break;
        case 'n': nbf_in = atol(optarg); has_nbf = 1; break;
        case 't': now = atol(optarg); break;
        case 'X': no_exp = 1; break;
        default:
            fprintf(stderr, "usage: mkjwt [-a ALG] [-k KEYFILE] [-s SUB] [-r ROLE] [-i ISS] "
                            "[-A AUD] [-e EXP_IN] [-n NBF_IN] [-t NOW] [-X]\n");
            return 2;
        }
    }
    if (sodium_init() < 0)
        return 1;
    if (strcmp(alg, "none") == 0) {
        char payload[1024], h[256], p[2048];
        snprintf(payload, sizeof(payload),
                 "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"%s\",\"role\":\"%s\",\"exp\":%ld}", iss,
                 aud, sub, role, now + exp_in);
        b64("{\"alg\":\"none\",\"typ\":\"JWT\"}", h, sizeof(h));
        b64(payload, p, sizeof(p));
        printf("%s.%s.\n", h, p);
        return 0;
    }
    jwt_alg_t a = jwt_str_alg(alg);
    size_t klen = 0;
    char *key = keyfile ? slurp(keyfile, &klen) : NULL;
    if (a == JWT_ALG_INVAL || !key) {
        fprintf(stderr, "mkjwt: need a known -a and a readable -k\n");
        free(key);
        return 2;
    }
    jwt_t *j = NULL;
    int rc = 1;
    if (jwt_new(&j) != 0)
        goto out;
    if (*iss)
        jwt_add_grant(j, "iss", iss);
    if (*aud)
        jwt_add_grant(j, "aud", aud);
    if (*sub)
        jwt_add_grant(j, "sub", sub);
    if (*role)
        jwt_add_grant(j, "role", role);
    jwt_add_grant_int(j, "iat", now);
    if (!no_exp)
        jwt_add_grant_int(j, "exp", now + exp_in);
    if (has_nbf)
        jwt_add_grant_int(j, "nbf", now + nbf_in);
    if (jwt_set_alg(j, a, (const unsigned char *)key, (int)klen) != 0) {
        fprintf(stderr, "mkjwt: libjwt refused the key for %s\n", alg);
        goto out;
    }
    char *t = jwt_encode_str(j);
    if (!t)
        goto out;
    printf("%s\n", t);
    free(t);
    rc = 0;
out:
    jwt_free(j);
    free(key);
    return rc;
}
