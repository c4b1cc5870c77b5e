/* libFuzzer: the HTTP head parser, the chunked decoder and URL decoding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    rz_http_head_t h;
    int r = rz__http_parse_head(buf, size, 8192, 2048, &h);
    if (r > 0) {
        if ((size_t)r > size || h.target + h.target_len > buf + size)
            abort();
        for (int i = 0; i < h.nheaders; i++)
            if (h.headers[i].value + h.headers[i].vlen > buf + size)
                abort();
    }
    char out[4096];
    size_t n = 0;
    long d = rz__http_dechunk(buf, size, out, sizeof(out), &n);
    if (d > 0 && ((size_t)d > size || n > sizeof(out)))
        abort();
    char *dec = malloc(size + 1);
    if (dec) {
        long k = rz__url_decode(buf, size, dec, 1);
        if (k > (long)size)
            abort();
        free(dec);
    }
    return 0;
}
