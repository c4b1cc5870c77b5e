/*
 * fuzz_ws_frame.c — libFuzzer target for the WebSocket decoder.
 *
 * The first input byte picks the settings (server or client side, message
 * limit, split size); the rest is fed in pieces.  Invariants checked beyond
 * "no crash": DATA never exceeds the limit, a reported message never exceeds
 * it either, every completed text message is valid UTF-8, and consumption
 * never runs past the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t cfg = data[0];
    data++;
    size--;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    static const uint64_t limits[] = {0, 1, 125, 1000};
    rz_ws_decoder_t d = {.expect_masked = cfg & 1, .max_message = limits[(cfg >> 1) & 3]};
    size_t step = (size_t)(cfg >> 3) + 1; /* 1..32 */

    static uint8_t msg[1 << 16];
    size_t msg_len = 0, msg_total = 0;
    int text = 0;
    size_t off = 0;
    while (off < size) {
        size_t chunk = size - off < step ? size - off : step, used = 0;
        rz_ws_event_t ev;
        do {
            size_t n = rz_ws_decode(&d, buf + off + used, chunk - used, &ev);
            if (n > chunk - used)
                abort();
            used += n;
            switch (ev.type) {
            case RZ_WS_EV_DATA:
                text = ev.opcode == RZ_WS_OP_TEXT;
                msg_total += ev.len;
                if (d.max_message && msg_total > d.max_message)
                    abort();
                if (msg_len + ev.len <= sizeof(msg)) {
                    memcpy(msg + msg_len, ev.data, ev.len);
                    msg_len += ev.len;
                }
                break;
            case RZ_WS_EV_MESSAGE:
                if (ev.opcode == RZ_WS_OP_TEXT && msg_len == msg_total &&
                    !rz_utf8_valid(msg, msg_len))
                    abort();
                (void)text;
                msg_len = msg_total = 0;
                break;
            case RZ_WS_EV_PING:
            case RZ_WS_EV_PONG:
            case RZ_WS_EV_CLOSE:
                if (ev.len > 125)
                    abort();
                break;
            case RZ_WS_EV_ERROR:
                if (ev.close_code != 1002 && ev.close_code != 1007 && ev.close_code != 1009)
                    abort();
                free(buf);
                return 0;
            }
        } while (ev.type != RZ_WS_EV_NONE);
        off += chunk;
    }
    free(buf);
    return 0;
}
