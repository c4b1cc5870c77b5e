/*
 * test_ws_frame.c — RFC 6455 framing and UTF-8 validation (host/ws_frame.c),
 * without sockets.  Each input is also fed one byte at a time, because a
 * decoder that only works on whole frames is the classic bug.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws_frame.h"

static const uint8_t KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Append a client frame (masked unless mask == 0) to buf at *n. */
static void put_frame(uint8_t *buf, size_t *n, int fin, int rsv, int op, const void *payload,
                      size_t len, int mask)
{
    size_t h = rz_ws_frame_header(buf + *n, fin, op, len, mask ? KEY : NULL);
    buf[*n] |= (uint8_t)(rsv << 4);
    *n += h;
    memcpy(buf + *n, payload, len);
    if (mask)
        rz_ws_mask(buf + *n, len, KEY, 0);
    *n += len;
}

typedef struct result {
    uint8_t msg[1 << 17];  /* every message's bytes, concatenated */
    size_t msg_len;
    int messages, text_messages;
    int pings, pongs;
    uint8_t ping[125];
    size_t ping_len;
    int closed, close_code;
    char close_reason[126];
    int error;              /* close code of the failure, 0 = none */
    const char *why;
} result_t;

/* Decode buf (a private copy: decoding unmasks in place) in pieces of step
 * bytes (0 = all at once), stopping at a close or an error. */
static void run(const uint8_t *buf, size_t n, size_t step, uint64_t max, result_t *r)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, buf, n);
    memset(r, 0, sizeof(*r));
    rz_ws_decoder_t d = {.max_message = max, .expect_masked = 1};
    size_t off = 0;
    while (!r->closed && !r->error) {
        size_t chunk = step && n - off > step ? step : n - off;
        size_t used = 0;
        rz_ws_event_t ev;
        do {
            used += rz_ws_decode(&d, copy + off + used, chunk - used, &ev);
            switch (ev.type) {
            case RZ_WS_EV_DATA:
                ck_assert_uint_le(r->msg_len + ev.len, sizeof(r->msg));
                memcpy(r->msg + r->msg_len, ev.data, ev.len);
                r->msg_len += ev.len;
                break;
            case RZ_WS_EV_MESSAGE:
                r->messages++;
                r->text_messages += ev.opcode == RZ_WS_OP_TEXT;
                break;
            case RZ_WS_EV_PING:
                r->pings++;
                memcpy(r->ping, ev.data, ev.len);
                r->ping_len = ev.len;
                break;
            case RZ_WS_EV_PONG: r->pongs++; break;
            case RZ_WS_EV_CLOSE:
                r->closed = 1;
                r->close_code = ev.close_code;
                if (ev.len)
                    memcpy(r->close_reason, ev.data, ev.len);
                r->close_reason[ev.len] = '\0';
                break;
            case RZ_WS_EV_ERROR:
                r->error = ev.close_code;
                r->why = ev.why;
                break;
            }
        } while (ev.type != RZ_WS_EV_NONE && !r->closed && !r->error);
        off += chunk;
        if (off >= n)
            break;
    }
    free(copy);
}

/* Run whole and byte by byte; both must agree on the outcome. */
static void run_both(const uint8_t *buf, size_t n, uint64_t max, result_t *r)
{
    static result_t bytewise;
    run(buf, n, 1, max, &bytewise);
    run(buf, n, 0, max, r);
    ck_assert_int_eq(bytewise.error, r->error);
    ck_assert_int_eq(bytewise.messages, r->messages);
    ck_assert_int_eq(bytewise.closed, r->closed);
    ck_assert_int_eq(bytewise.close_code, r->close_code);
    if (!r->error) { /* on failure, how much arrived before it depends on the split */
        ck_assert_uint_eq(bytewise.msg_len, r->msg_len);
        ck_assert_mem_eq(bytewise.msg, r->msg, r->msg_len);
    }
}

static uint8_t buf[1 << 18];
static result_t res;

/* ---- UTF-8 ---------------------------------------------------------------- */

START_TEST(test_utf8_accepts_valid_sequences)
{
    const char *ok[] = {"", "hello", "κόσμε", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                        "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        ck_assert_msg(rz_utf8_valid((const uint8_t *)ok[i], strlen(ok[i])), "case %zu", i);
}
END_TEST

START_TEST(test_utf8_rejects_overlongs_surrogates_and_out_of_range)
{
    const char *bad[] = {"\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf",
                         "\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
                         "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xfe", "\x80",
                         "\xbf", "\xe2\x82", "\xce", "hello\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!rz_utf8_valid((const uint8_t *)bad[i], strlen(bad[i])), "case %zu", i);
}
END_TEST

START_TEST(test_utf8_is_incremental_across_any_split)
{
    const char *s = "a\xf0\x9f\x98\x80" "b\xe2\x82\xac" "c\xce\xba" "0123456789abcdef";
    size_t n = strlen(s);
    for (size_t cut = 0; cut <= n; cut++) {
        rz_utf8_t u = {0};
        ck_assert_int_eq(rz_utf8_feed(&u, (const uint8_t *)s, cut), 0);
        ck_assert_int_eq(rz_utf8_feed(&u, (const uint8_t *)s + cut, n - cut), 0);
        ck_assert(rz_utf8_complete(&u));
    }
}
END_TEST

START_TEST(test_utf8_fails_fast_before_the_end)
{
    rz_utf8_t u = {0};
    /* a surrogate lead: wrong on its second byte, whatever follows */
    ck_assert_int_eq(rz_utf8_feed(&u, (const uint8_t *)"ok\xed\xa0", 4), -1);
}
END_TEST

/* ---- framing (Autobahn 1.x: plain text and binary) --------------------------------------- */

START_TEST(test_decodes_text_of_every_length_class)
{
    size_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 100000};
    static uint8_t payload[100000];
    memset(payload, '*', sizeof(payload));
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t n = 0;
        put_frame(buf, &n, 1, 0, RZ_WS_OP_TEXT, payload, lens[i], 1);
        run_both(buf, n, 0, &res);
        ck_assert_int_eq(res.error, 0);
        ck_assert_int_eq(res.messages, 1);
        ck_assert_int_eq(res.text_messages, 1);
        ck_assert_uint_eq(res.msg_len, lens[i]);
        ck_assert_mem_eq(res.msg, payload, lens[i]);
    }
}
END_TEST

START_TEST(test_decodes_binary)
{
    uint8_t payload[300];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)i;
    size_t n = 0;
    put_frame(buf, &n, 1, 0, RZ_WS_OP_BINARY, payload, sizeof(payload), 1);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.messages, 1);
    ck_assert_int_eq(res.text_messages, 0);
    ck_assert_mem_eq(res.msg, payload, sizeof(payload));
}
END_TEST

/* ---- Autobahn 2.x: pings and pongs ------------------------------------------------------- */

START_TEST(test_ping_payload_is_reported)
{
    size_t n = 0;
    put_frame(buf, &n, 1, 0, RZ_WS_OP_PING, "hello", 5, 1);
    put_frame(buf, &n, 1, 0, RZ_WS_OP_PONG, "x", 1, 1);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.pings, 1);
    ck_assert_int_eq(res.pongs, 1);
    ck_assert_uint_eq(res.ping_len, 5);
    ck_assert_mem_eq(res.ping, "hello", 5);
}
END_TEST

START_TEST(test_ping_of_125_bytes_is_fine_and_126_is_a_protocol_error)
{
    uint8_t p[126];
    memset(p, 0xfe, sizeof(p));
    size_t n = 0;
    put_frame(buf, &n, 1, 0, RZ_WS_OP_PING, p, 125, 1);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.error, 0);
    ck_assert_uint_eq(res.ping_len, 125);
    n = 0;
    put_frame(buf, &n, 1, 0, RZ_WS_OP_PING, p, 126, 1);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.error, 1002);
}
END_TEST

START_TEST(test_fragmented_ping_is_a_protocol_error)
{
    size_t n = 0;
    put_frame(buf, &n, 0, 0, RZ_WS_OP_PING, "a", 1, 1);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.error, 1002);
}
END_TEST

/* ---- Autobahn 3.x: reserved bits ------------------------------------------------------ */

START_TEST(test_reserved_bits_are_a_protocol_error)
{
    for (int rsv = 1; rsv < 8; rsv++) {
        size_t n = 0;
        put_frame(buf, &n, 1, rsv, RZ_WS_OP_TEXT, "hi", 2, 1);
        run_both(buf, n, 0, &res);
        ck_assert_int_eq(res.error, 1002);
        ck_assert_int_eq(res.messages, 0);
    }
}
END_TEST

/* ---- Autobahn 4.x: opcodes -------------------------------------------------------------- */

START_TEST(test_reserved_opcodes_are_a_protocol_error)
{
    int ops[] = {3, 4, 5, 6, 7, 11, 12, 13, 14, 15};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t n = 0;
        put_frame(buf, &n, 1, 0, RZ_WS_OP_TEXT, "ok", 2, 1);
        put_frame(buf, &n, 1, 0, ops[i], "", 0, 1);
        run_both(buf, n, 0, &res);
        ck_assert_int_eq(res.messages, 1); /* the message before still counts */
        ck_assert_int_eq(res.error, 1002);
    }
}
END_TEST

/* ---- Autobahn 5.x: fragmentation ---------------------------------------------------------- */

START_TEST(test_fragments_reassemble_with_control_frames_between)
{
    size_t n = 0;
    put_frame(buf, &n, 0, 0, RZ_WS_OP_TEXT, "frag", 4, 1);
    put_frame(buf, &n, 1, 0, RZ_WS_OP_PING, "p", 1, 1);
    put_frame(buf, &n, 0, 0, RZ_WS_OP_CONT, "ment", 4, 1);
    put_frame(buf, &n, 1, 0, RZ_WS_OP_PONG, "", 0, 1);
    put_frame(buf, &n, 1, 0, RZ_WS_OP_CONT, "ed", 2, 1);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.error, 0);
    ck_assert_int_eq(res.pings, 1);
    ck_assert_int_eq(res.pongs, 1);
    ck_assert_int_eq(res.messages, 1);
    ck_assert_uint_eq(res.msg_len, 10);
    ck_assert_mem_eq(res.msg, "fragmented", 10);
}
END_TEST

START_TEST(test_empty_fragments_make_an_empty_message)
{
    size_t n = 0;
    put_frame(buf, &n, 0, 0, RZ_WS_OP_TEXT, "", 0, 1);
    put_frame(buf, &n, 0, 0, RZ_WS_OP_CONT, "", 0, 1);
    put_frame(buf, &n, 1, 0, RZ_WS_OP_CONT, "", 0, 1);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.error, 0);
    ck_assert_int_eq(res.messages, 1);
    ck_assert_uint_eq(res.msg_len, 0);
}
END_TEST

START_TEST(test_continuation_without_a_message_is_a_protocol_error)
{
    size_t n = 0;
    put_frame(buf, &n, 1, 0, RZ_WS_OP_CONT, "x", 1, 1);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.error, 1002);
    n = 0; /* also after a complete message */
    put_frame(buf, &n, 1, 0, RZ_WS_OP_TEXT, "a", 1, 1);
    put_frame(buf, &n, 0, 0, RZ_WS_OP_CONT, "b", 1, 1);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.messages, 1);
    ck_assert_int_eq(res.error, 1002);
}
END_TEST

START_TEST(test_new_message_inside_a_fragmented_one_is_a_protocol_error)
{
    size_t n = 0;
    put_frame(buf, &n, 0, 0, RZ_WS_OP_TEXT, "a", 1, 1);
    put_frame(buf, &n, 1, 0, RZ_WS_OP_TEXT, "b", 1, 1);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.error, 1002);
    ck_assert_int_eq(res.messages, 0);
}
END_TEST

/* ---- Autobahn 6.x: UTF-8 in text messages ------------------------------------------------ */

START_TEST(test_invalid_utf8_in_text_is_1007)
{
    size_t n = 0;
    put_frame(buf, &n, 1, 0, RZ_WS_OP_TEXT, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
                                            "edited", 20, 1);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.error, 1007);
    ck_assert_int_eq(res.messages, 0);
}
END_TEST

START_TEST(test_utf8_split_across_fragments_is_valid)
{
    const char *euro = "\xe2\x82\xac";
    size_t n = 0;
    put_frame(buf, &n, 0, 0, RZ_WS_OP_TEXT, euro, 1, 1);
    put_frame(buf, &n, 0, 0, RZ_WS_OP_CONT, euro + 1, 1, 1);
    put_frame(buf, &n, 1, 0, RZ_WS_OP_CONT, euro + 2, 1, 1);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.error, 0);
    ck_assert_int_eq(res.messages, 1);
    ck_assert_mem_eq(res.msg, euro, 3);
}
END_TEST

START_TEST(test_text_ending_mid_character_is_1007)
{
    size_t n = 0;
    put_frame(buf, &n, 0, 0, RZ_WS_OP_TEXT, "ok\xe2\x82", 4, 1);
    put_frame(buf, &n, 1, 0, RZ_WS_OP_CONT, "", 0, 1);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.error, 1007);
}
END_TEST

START_TEST(test_binary_is_not_utf8_checked)
{
    size_t n = 0;
    put_frame(buf, &n, 1, 0, RZ_WS_OP_BINARY, "\xff\xfe", 2, 1);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.error, 0);
    ck_assert_int_eq(res.messages, 1);
}
END_TEST

/* ---- Autobahn 7.x: close handling ---------------------------------------------------------- */

static size_t close_frame(uint8_t *b, int code, const char *reason, size_t rlen)
{
    uint8_t p[125] = {0};
    size_t pl = 0;
    if (code >= 0) {
        p[0] = (uint8_t)(code >> 8);
        p[1] = (uint8_t)code;
        memcpy(p + 2, reason, rlen);
        pl = 2 + rlen;
    }
    size_t n = 0;
    put_frame(b, &n, 1, 0, RZ_WS_OP_CLOSE, p, pl, 1);
    return n;
}

START_TEST(test_close_without_payload_reports_1005)
{
    size_t n = close_frame(buf, -1, "", 0);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.closed, 1);
    ck_assert_int_eq(res.close_code, 1005);
}
END_TEST

START_TEST(test_close_with_code_and_reason)
{
    size_t n = close_frame(buf, 1000, "bye", 3);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.close_code, 1000);
    ck_assert_str_eq(res.close_reason, "bye");
}
END_TEST

START_TEST(test_close_with_one_byte_payload_is_1002)
{
    size_t n = 0;
    put_frame(buf, &n, 1, 0, RZ_WS_OP_CLOSE, "\x03", 1, 1);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.error, 1002);
}
END_TEST

START_TEST(test_close_codes_valid_and_invalid)
{
    int good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999};
    int bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        size_t n = close_frame(buf, good[i], "", 0);
        run_both(buf, n, 0, &res);
        ck_assert_int_eq(res.error, 0);
        ck_assert_int_eq(res.close_code, good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = close_frame(buf, bad[i], "", 0);
        run_both(buf, n, 0, &res);
        ck_assert_msg(res.error == 1002, "code %d gave %d", bad[i], res.error);
    }
}
END_TEST

START_TEST(test_close_reason_with_invalid_utf8_is_1007)
{
    size_t n = close_frame(buf, 1000, "\xff\xfe", 2);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.error, 1007);
}
END_TEST

/* ---- Autobahn 9.x-like: limits ----------------------------------------------------------- */

START_TEST(test_message_over_the_limit_is_1009_before_its_payload)
{
    size_t n = rz_ws_frame_header(buf, 1, RZ_WS_OP_TEXT, 2000, KEY);
    /* only the header: the decoder must refuse without waiting for 2000 bytes */
    run_both(buf, n, 1000, &res);
    ck_assert_int_eq(res.error, 1009);
}
END_TEST

START_TEST(test_fragments_adding_up_over_the_limit_are_1009)
{
    static uint8_t p[600];
    memset(p, 'a', sizeof(p));
    size_t n = 0;
    put_frame(buf, &n, 0, 0, RZ_WS_OP_TEXT, p, 600, 1);
    put_frame(buf, &n, 1, 0, RZ_WS_OP_CONT, p, 600, 1);
    run_both(buf, n, 1000, &res);
    ck_assert_int_eq(res.error, 1009);
    /* exactly at the limit is fine */
    n = 0;
    put_frame(buf, &n, 0, 0, RZ_WS_OP_TEXT, p, 500, 1);
    put_frame(buf, &n, 1, 0, RZ_WS_OP_CONT, p, 500, 1);
    run_both(buf, n, 1000, &res);
    ck_assert_int_eq(res.error, 0);
    ck_assert_int_eq(res.messages, 1);
}
END_TEST

START_TEST(test_unmasked_client_frame_is_1002)
{
    size_t n = 0;
    put_frame(buf, &n, 1, 0, RZ_WS_OP_TEXT, "hi", 2, 0);
    run_both(buf, n, 0, &res);
    ck_assert_int_eq(res.error, 1002);
}
END_TEST

START_TEST(test_non_minimal_and_huge_lengths_are_1002)
{
    uint8_t a[] = {0x81, 0x80 | 126, 0, 5, 1, 2, 3, 4};
    run_both(a, sizeof(a), 0, &res);
    ck_assert_int_eq(res.error, 1002);
    uint8_t b[] = {0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
    run_both(b, sizeof(b), 0, &res);
    ck_assert_int_eq(res.error, 1002);
}
END_TEST

START_TEST(test_after_an_error_the_decoder_stays_failed)
{
    rz_ws_decoder_t d = {.expect_masked = 1};
    uint8_t x[] = {0xF1, 0x80};
    rz_ws_event_t ev;
    rz_ws_decode(&d, x, sizeof(x), &ev);
    ck_assert_int_eq(ev.type, RZ_WS_EV_ERROR);
    uint8_t y[] = {0x81, 0x80, 1, 2, 3, 4};
    ck_assert_uint_eq(rz_ws_decode(&d, y, sizeof(y), &ev), 0);
    ck_assert_int_eq(ev.type, RZ_WS_EV_ERROR);
    ck_assert_int_eq(ev.close_code, 1002);
}
END_TEST

/* ---- encoding ---------------------------------------------------------------------------- */

START_TEST(test_encoder_round_trips_through_a_client_decoder)
{
    size_t lens[] = {0, 125, 126, 65535, 65536};
    static uint8_t payload[65536];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t h = rz_ws_frame_header(buf, 1, RZ_WS_OP_BINARY, lens[i], NULL);
        ck_assert_uint_eq(h, lens[i] < 126 ? 2 : lens[i] < 65536 ? 4 : 10);
        memcpy(buf + h, payload, lens[i]);
        rz_ws_decoder_t d = {.expect_masked = 0};
        rz_ws_event_t ev;
        size_t off = 0, got = 0;
        int done = 0;
        do {
            off += rz_ws_decode(&d, buf + off, h + lens[i] - off, &ev);
            if (ev.type == RZ_WS_EV_DATA) {
                ck_assert_mem_eq(ev.data, payload + got, ev.len);
                got += ev.len;
            }
            done |= ev.type == RZ_WS_EV_MESSAGE;
            ck_assert_int_ne(ev.type, RZ_WS_EV_ERROR);
        } while (ev.type != RZ_WS_EV_NONE);
        ck_assert(done);
        ck_assert_uint_eq(got, lens[i]);
    }
}
END_TEST

START_TEST(test_mask_in_pieces_equals_mask_at_once)
{
    uint8_t a[100], b[100];
    for (int i = 0; i < 100; i++)
        a[i] = b[i] = (uint8_t)i;
    rz_ws_mask(a, 100, KEY, 0);
    rz_ws_mask(b, 3, KEY, 0);
    rz_ws_mask(b + 3, 50, KEY, 3);
    rz_ws_mask(b + 53, 47, KEY, 53);
    ck_assert_mem_eq(a, b, 100);
}
END_TEST

START_TEST(test_close_payload_cuts_reason_on_a_character_boundary)
{
    char reason[200];
    for (int i = 0; i < 99; i++)
        memcpy(reason + 2 * i, "\xce\xba", 2); /* 2-byte characters */
    reason[198] = '\0';
    uint8_t p[125];
    size_t n = rz_ws_close_payload(p, 1008, reason);
    ck_assert_uint_le(n, 125);
    ck_assert_int_eq((p[0] << 8) | p[1], 1008);
    ck_assert(rz_utf8_valid(p + 2, n - 2));
    ck_assert_uint_eq(rz_ws_close_payload(p, 0, "x"), 0);
}
END_TEST

static Suite *ws_suite(void)
{
    Suite *s = suite_create("ws_frame");
    TCase *tc = tcase_create("utf8");
    tcase_add_test(tc, test_utf8_accepts_valid_sequences);
    tcase_add_test(tc, test_utf8_rejects_overlongs_surrogates_and_out_of_range);
    tcase_add_test(tc, test_utf8_is_incremental_across_any_split);
    tcase_add_test(tc, test_utf8_fails_fast_before_the_end);
    suite_add_tcase(s, tc);

    tc = tcase_create("decode");
    tcase_add_test(tc, test_decodes_text_of_every_length_class);
    tcase_add_test(tc, test_decodes_binary);
    tcase_add_test(tc, test_ping_payload_is_reported);
    tcase_add_test(tc, test_ping_of_125_bytes_is_fine_and_126_is_a_protocol_error);
    tcase_add_test(tc, test_fragmented_ping_is_a_protocol_error);
    tcase_add_test(tc, test_reserved_bits_are_a_protocol_error);
    tcase_add_test(tc, test_reserved_opcodes_are_a_protocol_error);
    tcase_add_test(tc, test_fragments_reassemble_with_control_frames_between);
    tcase_add_test(tc, test_empty_fragments_make_an_empty_message);
    tcase_add_test(tc, test_continuation_without_a_message_is_a_protocol_error);
    tcase_add_test(tc, test_new_message_inside_a_fragmented_one_is_a_protocol_error);
    tcase_add_test(tc, test_invalid_utf8_in_text_is_1007);
    tcase_add_test(tc, test_utf8_split_across_fragments_is_valid);
    tcase_add_test(tc, test_text_ending_mid_character_is_1007);
    tcase_add_test(tc, test_binary_is_not_utf8_checked);
    tcase_add_test(tc, test_close_without_payload_reports_1005);
    tcase_add_test(tc, test_close_with_code_and_reason);
    tcase_add_test(tc, test_close_with_one_byte_payload_is_1002);
    tcase_add_test(tc, test_close_codes_valid_and_invalid);
    tcase_add_test(tc, test_close_reason_with_invalid_utf8_is_1007);
    tcase_add_test(tc, test_message_over_the_limit_is_1009_before_its_payload);
    tcase_add_test(tc, test_fragments_adding_up_over_the_limit_are_1009);
    tcase_add_test(tc, test_unmasked_client_frame_is_1002);
    tcase_add_test(tc, test_non_minimal_and_huge_lengths_are_1002);
    tcase_add_test(tc, test_after_an_error_the_decoder_stays_failed);
    suite_add_tcase(s, tc);

    tc = tcase_create("encode");
    tcase_add_test(tc, test_encoder_round_trips_through_a_client_decoder);
    tcase_add_test(tc, test_mask_in_pieces_equals_mask_at_once);
    tcase_add_test(tc, test_close_payload_cuts_reason_on_a_character_boundary);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ws_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
