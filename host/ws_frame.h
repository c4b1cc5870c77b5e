/*
 * ws_frame.h — RFC 6455 framing without I/O: an incremental decoder, a frame
 * header encoder, masking, close payloads and an incremental UTF-8 validator.
 *
 * Nothing here allocates, reads a clock or touches a socket, so the whole
 * protocol state machine is unit-tested and fuzzed on plain byte arrays
 * (tests/unit/test_ws_frame.c, fuzz/fuzz_ws_frame.c).  The connection layer
 * (ws.c) feeds it whatever read() returned and acts on the events it emits.
 *
 * The decoder streams: payload bytes are handed out as they arrive (unmasked
 * in place in the caller's buffer), so a 1 MiB message never sits twice in
 * memory and a partial frame costs only the decoder's fixed state.
 */
#ifndef RZ_WS_FRAME_H
#define RZ_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum rz_ws_opcode {
    RZ_WS_OP_CONT = 0x0,
    RZ_WS_OP_TEXT = 0x1,
    RZ_WS_OP_BINARY = 0x2,
    RZ_WS_OP_CLOSE = 0x8,
    RZ_WS_OP_PING = 0x9,
    RZ_WS_OP_PONG = 0xA
};

/* Close codes we send (RFC 6455 section 7.4.1, plus ours in 4000-4999). */
enum rz_ws_close {
    RZ_WS_CLOSE_NORMAL = 1000,
    RZ_WS_CLOSE_GOING_AWAY = 1001,
    RZ_WS_CLOSE_PROTOCOL = 1002,
    RZ_WS_CLOSE_UNSUPPORTED = 1003,
    RZ_WS_CLOSE_NO_STATUS = 1005,   /* never sent: "the peer's close had no code" */
    RZ_WS_CLOSE_ABNORMAL = 1006,    /* never sent: "the TCP connection just ended" */
    RZ_WS_CLOSE_BAD_DATA = 1007,    /* invalid UTF-8 in a text message */
    RZ_WS_CLOSE_POLICY = 1008,
    RZ_WS_CLOSE_TOO_BIG = 1009,
    RZ_WS_CLOSE_INTERNAL = 1011,
    RZ_WS_CLOSE_TRY_AGAIN = 1013,
    RZ_WS_CLOSE_TOKEN_EXPIRED = 4001 /* RentEzy: the access token expired */
};

/* ---- UTF-8 ------------------------------------------------------------------ */

/* Incremental validator (RFC 3629: no overlongs, no surrogates, nothing above
 * U+10FFFF).  Zero-initialise; feed any split of the input. */
typedef struct rz_utf8 {
    uint8_t need;    /* continuation bytes still expected */
    uint8_t lo, hi;  /* allowed range of the next continuation byte */
} rz_utf8_t;

/* 0 while the bytes so far are a valid prefix, -1 as soon as they cannot be
 * (fail fast: the caller closes before the message ends). */
int rz_utf8_feed(rz_utf8_t *u, const uint8_t *p, size_t n);
/* 1 when the input ended on a character boundary. */
static inline int rz_utf8_complete(const rz_utf8_t *u) { return u->need == 0; }
/* One-shot check of a whole buffer: 1 valid, 0 not. */
int rz_utf8_valid(const uint8_t *p, size_t n);

/* ---- decoding ------------------------------------------------------------- */

enum rz_ws_ev_type {
    RZ_WS_EV_NONE = 0,   /* all input consumed, nothing to report: read more */
    RZ_WS_EV_DATA,       /* ev.data/ev.len: payload of the current message */
    RZ_WS_EV_MESSAGE,    /* the current message ended (after its last DATA) */
    RZ_WS_EV_PING,       /* ev.data/ev.len: the ping's payload (<= 125) */
    RZ_WS_EV_PONG,
    RZ_WS_EV_CLOSE,      /* ev.close_code (1005 when none), ev.data/len: reason */
    RZ_WS_EV_ERROR       /* ev.close_code to send, ev.why: a static reason */
};

typedef struct rz_ws_event {
    int type;             /* enum rz_ws_ev_type */
    int opcode;           /* DATA, MESSAGE: RZ_WS_OP_TEXT or RZ_WS_OP_BINARY */
    const uint8_t *data;  /* into the caller's buffer or the decoder: valid
                             until the next rz_ws_decode call */
    size_t len;
    int close_code;
    const char *why;
} rz_ws_event_t;

typedef struct rz_ws_decoder {
    /* settings: set before the first call */
    uint64_t max_message;   /* bytes of one (reassembled) message; 0 = no limit */
    int expect_masked;      /* 1: we are the server (frames must be masked),
                               0: we are a client (frames must not be) */
    /* state: zero-initialised, never touched by the caller */
    uint8_t state;          /* header / payload / failed */
    uint8_t hlen;           /* header bytes gathered so far */
    uint8_t hdr[14];
    uint8_t opcode, fin, masked;
    uint8_t mask[4];
    uint64_t remaining;     /* payload bytes left in the current frame */
    uint64_t offset;        /* payload bytes of the current frame seen (mask phase) */
    uint8_t msg_opcode;     /* TEXT/BINARY while a message is open, else 0 */
    uint64_t msg_len;
    rz_utf8_t utf8;
    uint8_t ctl_len;
    uint8_t ctl[125];       /* a control frame's payload, gathered whole */
    int err_code;
    const char *err_why;
} rz_ws_decoder_t;

/* Decode from in[0..len).  Returns how many bytes it consumed and fills *ev
 * with at most one event; call again with the rest until it returns with
 * RZ_WS_EV_NONE (everything consumed).  Payload bytes are unmasked in place,
 * which is why in is not const.  After RZ_WS_EV_ERROR every later call
 * reports the same error and consumes nothing: the caller fails the
 * connection with ev->close_code. */
size_t rz_ws_decode(rz_ws_decoder_t *d, uint8_t *in, size_t len, rz_ws_event_t *ev);

/* 1 when a message is being reassembled (between its first frame and FIN). */
static inline int rz_ws_in_message(const rz_ws_decoder_t *d) { return d->msg_opcode != 0; }

/* A close code a peer may send (RFC 6455 7.4): 1000-1003, 1007-1014 and
 * 3000-4999. */
int rz_ws_close_code_valid(int code);

/* ---- encoding -------------------------------------------------------------- */

#define RZ_WS_MAX_HEADER 14

/* Write a frame header into out; returns its length (2..14).  mask NULL
 * sends unmasked (server to client); otherwise the 4 bytes are put in the
 * header and the caller masks the payload with rz_ws_mask. */
size_t rz_ws_frame_header(uint8_t out[RZ_WS_MAX_HEADER], int fin, int opcode, uint64_t len,
                          const uint8_t mask[4]);

/* XOR p[0..n) with key, starting at payload position off (so a payload can be
 * masked in pieces). */
void rz_ws_mask(uint8_t *p, size_t n, const uint8_t key[4], uint64_t off);

/* A close frame's payload: 2-byte code then reason, cut to fit 125 bytes on
 * a UTF-8 character boundary.  Returns the length.  code 0 = no payload. */
size_t rz_ws_close_payload(uint8_t out[125], int code, const char *reason);

#endif
