/*
 * ws_frame.c — RFC 6455 framing (see ws_frame.h).  Pure functions over byte
 * arrays; every branch is reachable from fuzz/fuzz_ws_frame.c.
 */
#include "ws_frame.h"

#include <string.h>

enum { ST_HEADER = 0, ST_PAYLOAD, ST_END, ST_FAILED };

/* ---- UTF-8 ------------------------------------------------------------------ */

int rz_utf8_feed(rz_utf8_t *u, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (u->need == 0) {
            /* ASCII runs are the common case: eight bytes per step */
            while (i + 8 <= n) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if (w & 0x8080808080808080ull)
                    break;
                i += 8;
            }
            if (i == n)
                break;
            uint8_t c = p[i++];
            if (c < 0x80)
                continue;
            u->lo = 0x80;
            u->hi = 0xBF;
            if (c >= 0xC2 && c <= 0xDF) {
                u->need = 1;
            } else if (c >= 0xE0 && c <= 0xEF) {
                u->need = 2;
                if (c == 0xE0)
                    u->lo = 0xA0; /* overlong */
                else if (c == 0xED)
                    u->hi = 0x9F; /* UTF-16 surrogates */
            } else if (c >= 0xF0 && c <= 0xF4) {
                u->need = 3;
                if (c == 0xF0)
                    u->lo = 0x90; /* overlong */
                else if (c == 0xF4)
                    u->hi = 0x8F; /* above U+10FFFF */
            } else {
                return -1; /* 0x80-0xC1 (continuation, overlong), 0xF5-0xFF */
            }
            continue;
        }
        uint8_t c = p[i++];
        if (c < u->lo || c > u->hi)
            return -1;
        u->need--;
        u->lo = 0x80;
        u->hi = 0xBF;
    }
    return 0;
}

int rz_utf8_valid(const uint8_t *p, size_t n)
{
    rz_utf8_t u = {0};
    return rz_utf8_feed(&u, p, n) == 0 && rz_utf8_complete(&u);
}

/* ---- masking and encoding ------------------------------------------------------------ */

void rz_ws_mask(uint8_t *p, size_t n, const uint8_t key[4], uint64_t off)
{
    size_t i = 0;
    for (; i < n && ((off + i) & 3) != 0; i++)
        p[i] ^= key[(off + i) & 3];
    /* now aligned with the key: eight bytes per step */
    uint8_t k8[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
    uint64_t k;
    memcpy(&k, k8, 8);
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= k;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++)
        p[i] ^= key[(off + i) & 3];
}

size_t rz_ws_frame_header(uint8_t out[RZ_WS_MAX_HEADER], int fin, int opcode, uint64_t len,
                          const uint8_t mask[4])
{
    size_t h = 0;
    out[h++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    uint8_t m = mask ? 0x80 : 0;
    if (len < 126) {
        out[h++] = (uint8_t)(m | len);
    } else if (len <= 0xFFFF) {
        out[h++] = m | 126;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = m | 127;
        for (int s = 56; s >= 0; s -= 8)
            out[h++] = (uint8_t)(len >> s);
    }
    if (mask) {
        memcpy(out + h, mask, 4);
        h += 4;
    }
    return h;
}

size_t rz_ws_close_payload(uint8_t out[125], int code, const char *reason)
{
    if (code <= 0)
        return 0;
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    size_t n = reason ? strlen(reason) : 0;
    if (n > 123) {
        n = 123;
        while (n > 0 && ((uint8_t)reason[n] & 0xC0) == 0x80)
            n--; /* do not split a character */
    }
    if (n)
        memcpy(out + 2, reason, n);
    return 2 + n;
}

int rz_ws_close_code_valid(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* ---- decoding ------------------------------------------------------------------------- */

static size_t fail(rz_ws_decoder_t *d, rz_ws_event_t *ev, size_t used, int code, const char *why)
{
    d->state = ST_FAILED;
    d->err_code = code;
    d->err_why = why;
    ev->type = RZ_WS_EV_ERROR;
    ev->close_code = code;
    ev->why = why;
    return used;
}

static int is_control(int op) { return (op & 0x08) != 0; }

/* Header bytes needed, given what has been gathered (grows after byte 2). */
static size_t header_need(const rz_ws_decoder_t *d)
{
    if (d->hlen < 2)
        return 2;
    size_t n = 2, l7 = d->hdr[1] & 0x7F;
    if (l7 == 126)
        n += 2;
    else if (l7 == 127)
        n += 8;
    if (d->hdr[1] & 0x80)
        n += 4;
    return n;
}

/* The first two bytes: everything that can be refused before the length. */
static const char *check_first(rz_ws_decoder_t *d, int *code)
{
    uint8_t b0 = d->hdr[0], b1 = d->hdr[1];
    int op = b0 & 0x0F, fin = (b0 & 0x80) != 0, masked = (b1 & 0x80) != 0;
    *code = 1002;
    if (b0 & 0x70)
        return "reserved bits set without a negotiated extension";
    if (!(op <= 2 || (op >= 8 && op <= 10)))
        return "reserved opcode";
    if (is_control(op) && !fin)
        return "fragmented control frame";
    if (is_control(op) && (b1 & 0x7F) > 125)
        return "control frame payload over 125 bytes";
    if (masked != (d->expect_masked != 0))
        return d->expect_masked ? "client frames must be masked" : "server frames must not be masked";
    if (op == RZ_WS_OP_CONT && !d->msg_opcode)
        return "continuation frame without a message to continue";
    if ((op == RZ_WS_OP_TEXT || op == RZ_WS_OP_BINARY) && d->msg_opcode)
        return "new data frame while a fragmented message is open";
    return NULL;
}

/* The whole header is in d->hdr: take the length and key. */
static const char *parse_header(rz_ws_decoder_t *d, int *code)
{
    uint8_t b0 = d->hdr[0], b1 = d->hdr[1];
    uint64_t len = b1 & 0x7F;
    size_t h = 2;
    *code = 1002;
    if (len == 126) {
        len = ((uint64_t)d->hdr[2] << 8) | d->hdr[3];
        h = 4;
        if (len < 126)
            return "length not minimally encoded";
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | d->hdr[2 + i];
        h = 10;
        if (len >> 63)
            return "64-bit length with the top bit set";
        if (len <= 0xFFFF)
            return "length not minimally encoded";
    }
    d->opcode = b0 & 0x0F;
    d->fin = (b0 & 0x80) != 0;
    d->masked = (b1 & 0x80) != 0;
    if (d->masked)
        memcpy(d->mask, d->hdr + h, 4);
    d->remaining = len;
    d->offset = 0;
    d->ctl_len = 0;
    if (!is_control(d->opcode)) {
        if (d->opcode != RZ_WS_OP_CONT) {
            d->msg_opcode = d->opcode;
            d->msg_len = 0;
            memset(&d->utf8, 0, sizeof(d->utf8));
        }
        /* refuse an oversize message before its payload arrives */
        if (d->max_message && (len > d->max_message || d->msg_len + len > d->max_message)) {
            *code = 1009;
            return "message larger than max_message_size";
        }
        d->msg_len += len;
    }
    return NULL;
}

/* The current frame's payload is complete.  Returns 1 with an event set,
 * 0 when there is nothing to report, or -1 after fail(). */
static int frame_end(rz_ws_decoder_t *d, rz_ws_event_t *ev)
{
    d->state = ST_HEADER;
    d->hlen = 0;
    switch (d->opcode) {
    case RZ_WS_OP_PING:
    case RZ_WS_OP_PONG:
        ev->type = d->opcode == RZ_WS_OP_PING ? RZ_WS_EV_PING : RZ_WS_EV_PONG;
        ev->data = d->ctl;
        ev->len = d->ctl_len;
        return 1;
    case RZ_WS_OP_CLOSE:
        if (d->ctl_len == 1)
            return -1002;
        ev->type = RZ_WS_EV_CLOSE;
        ev->close_code = RZ_WS_CLOSE_NO_STATUS;
        if (d->ctl_len >= 2) {
            ev->close_code = (d->ctl[0] << 8) | d->ctl[1];
            if (!rz_ws_close_code_valid(ev->close_code))
                return -1002;
            if (!rz_utf8_valid(d->ctl + 2, d->ctl_len - 2u))
                return -1007;
            ev->data = d->ctl + 2;
            ev->len = d->ctl_len - 2u;
        }
        return 1;
    default:
        if (!d->fin)
            return 0;
        if (d->msg_opcode == RZ_WS_OP_TEXT && !rz_utf8_complete(&d->utf8))
            return -1007;
        ev->type = RZ_WS_EV_MESSAGE;
        ev->opcode = d->msg_opcode;
        d->msg_opcode = 0;
        return 1;
    }
}

size_t rz_ws_decode(rz_ws_decoder_t *d, uint8_t *in, size_t len, rz_ws_event_t *ev)
{
    size_t used = 0;
    memset(ev, 0, sizeof(*ev));
    for (;;) {
        switch (d->state) {
        case ST_FAILED:
            ev->type = RZ_WS_EV_ERROR;
            ev->close_code = d->err_code;
            ev->why = d->err_why;
            return 0;
        case ST_HEADER: {
            size_t need;
            while (d->hlen < (need = header_need(d))) {
                if (used == len)
                    return used; /* RZ_WS_EV_NONE */
                size_t k = need - d->hlen;
                if (k > len - used)
                    k = len - used;
                memcpy(d->hdr + d->hlen, in + used, k);
                d->hlen = (uint8_t)(d->hlen + k);
                used += k;
                if (d->hlen >= 2 && d->hlen - k < 2) { /* the first two bytes just arrived */
                    int code;
                    const char *why = check_first(d, &code);
                    if (why)
                        return fail(d, ev, used, code, why);
                }
            }
            int code;
            const char *why = parse_header(d, &code);
            if (why)
                return fail(d, ev, used, code, why);
            d->state = d->remaining ? ST_PAYLOAD : ST_END;
            break;
        }
        case ST_PAYLOAD: {
            size_t k = len - used;
            if (k == 0)
                return used;
            if (k > d->remaining)
                k = (size_t)d->remaining;
            uint8_t *p = in + used;
            if (d->masked)
                rz_ws_mask(p, k, d->mask, d->offset);
            used += k;
            d->offset += k;
            d->remaining -= k;
            if (d->remaining == 0)
                d->state = ST_END;
            if (is_control(d->opcode)) {
                memcpy(d->ctl + d->ctl_len, p, k); /* <= 125 in total: checked */
                d->ctl_len = (uint8_t)(d->ctl_len + k);
                break;
            }
            if (d->msg_opcode == RZ_WS_OP_TEXT && rz_utf8_feed(&d->utf8, p, k) < 0)
                return fail(d, ev, used, 1007, "invalid UTF-8 in a text message");
            ev->type = RZ_WS_EV_DATA;
            ev->opcode = d->msg_opcode;
            ev->data = p;
            ev->len = k;
            return used;
        }
        case ST_END: {
            int r = frame_end(d, ev);
            if (r < 0) {
                memset(ev, 0, sizeof(*ev));
                return fail(d, ev, used, -r,
                            r == -1007   ? "invalid UTF-8 in a text message or close reason"
                            : d->ctl_len == 1 ? "close frame with a 1-byte payload"
                                         : "invalid close code");
            }
            if (r > 0)
                return used;
            break;
        }
        }
    }
}
