/* libFuzzer: route patterns and path matching.  The first line of the input
 * is a list of patterns separated by spaces, the rest is matched as paths,
 * one per line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

static void h(rz_req_t *r, void *u) { (void)r, (void)u; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    rz_router_t *r = rz__router_new();
    char err[256];
    char *save = NULL, *line = strtok_r(buf, "\n", &save);
    static const char *const methods[] = {"GET", "POST", "DELETE"};
    if (line) {
        char *s2 = NULL;
        int i = 0;
        for (char *p = strtok_r(line, " ", &s2); p; p = strtok_r(NULL, " ", &s2))
            rz__router_add(r, methods[i++ % 3], p, 0, h, NULL, NULL, NULL, err, sizeof(err));
    }
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        rz_match_t m;
        int rc = rz__router_match(r, "GET", line, strlen(line), &m);
        if (rc == 200)
            for (int i = 0; i < m.nparams; i++)
                if (m.params[i].off + m.params[i].len > strlen(line))
                    abort();
    }
    rz__router_free(r);
    free(buf);
    return 0;
}
