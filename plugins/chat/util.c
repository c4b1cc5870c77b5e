/* util.c — small helpers shared by the chat plugin (see chat.h). */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int is_uuid(const char *s)
{
    if (!s || strlen(s) != UUID_LEN)
        return 0;
    for (int i = 0; i < UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* Well-formed UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF): what PostgreSQL accepts, so no body can fail a batch. */
static int utf8_ok(const unsigned char *p)
{
    while (*p) {
        unsigned c = *p++;
        int n;
        unsigned min, cp;
        if (c < 0x80)
            continue;
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, min = 0x80, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, min = 0x800, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, min = 0x10000, cp = c & 0x07;
        else
            return 0;
        while (n--) {
            if ((*p & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (*p++ & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
    }
    return 1;
}

const char *body_problem(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0)
        return "body must not be empty";
    if (n > chat_g.max_message_size)
        return "body is over max_message_size";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f)
            return "body contains control characters";
    }
    if (!utf8_ok((const unsigned char *)s))
        return "body is not valid UTF-8";
    return NULL;
}

int client_id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > CLIENT_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return 0;
    return 1;
}

void i64_text(int64_t v, char out[24])
{
    snprintf(out, 24, "%lld", (long long)v);
}

void push_user(const char *user, cJSON *msg)
{
    int rc = H->ws_send_user(chat_g.self, user, "chat", msg);
    if (rc != RZ_OK && rc != RZ_EINVAL)
        H->log(chat_g.self, RZ_LOG_WARN, "push to %s failed (%d); it resumes on reconnect", user, rc);
}

/* A {type:"message_ref"} for a message too big for the fan-out: the client
 * fetches it with resume or over REST. */
static void push_ref(const char *user, cJSON *m)
{
    cJSON *ref = cJSON_CreateObject();
    cJSON *conv = cJSON_GetObjectItemCaseSensitive(m, "conversation_id");
    cJSON *seq = cJSON_GetObjectItemCaseSensitive(m, "seq");
    if (!ref || !cJSON_AddStringToObject(ref, "type", "message_ref") ||
        !cJSON_IsString(conv) || !cJSON_AddStringToObject(ref, "conversation_id", conv->valuestring) ||
        !cJSON_IsNumber(seq) || !cJSON_AddNumberToObject(ref, "seq", seq->valuedouble)) {
        cJSON_Delete(ref);
        return;
    }
    push_user(user, ref);
}

static void push_message(const char *user, cJSON *m)
{
    cJSON *copy = cJSON_Duplicate(m, 1);
    if (!copy)
        return;
    if (H->ws_send_user(chat_g.self, user, "chat", copy) == RZ_EINVAL)
        push_ref(user, m);
}

cJSON *deliver_sent(const char *sender, const char *recipient, const char *msg_json)
{
    cJSON *m = cJSON_Parse(msg_json);
    if (!cJSON_IsObject(m)) {
        cJSON_Delete(m);
        return NULL;
    }
    /* "type" first, so clients can dispatch on the opening bytes */
    cJSON *type = cJSON_CreateString("message");
    if (!type) {
        cJSON_Delete(m);
        return NULL;
    }
    cJSON_AddItemToObject(m, "type", type);
    cJSON_DetachItemViaPointer(m, type);
    if (!cJSON_InsertItemInArray(m, 0, type)) { /* objects are arrays with names */
        cJSON_Delete(type);
        cJSON_Delete(m);
        return NULL;
    }
    push_message(recipient, m);
    push_message(sender, m); /* the sender's other connections (and this one) */
    return m;
}

const char *traceparent_of(rz_req_t *req)
{
    const char *t = H->req_header(req, "traceparent");
    if (!t || strlen(t) != 55 || t[2] != '-' || t[35] != '-' || t[52] != '-')
        return NULL;
    for (int i = 0; i < 55; i++)
        if (t[i] != '-' && !((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
            return NULL;
    return t;
}

static void arr_put(arr_t *a, const char *p, size_t n)
{
    if (a->oom)
        return;
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        while (cap < a->len + n + 1)
            cap *= 2;
        char *s = realloc(a->s, cap);
        if (!s) {
            a->oom = 1;
            return;
        }
        a->s = s;
        a->cap = cap;
    }
    memcpy(a->s + a->len, p, n);
    a->len += n;
}

void arr_add(arr_t *a, const char *v)
{
    arr_put(a, a->len ? ",\"" : "{\"", 2);
    for (const char *p = v; *p;) {
        size_t n = strcspn(p, "\"\\");
        arr_put(a, p, n);
        p += n;
        if (*p) {
            char esc[2] = {'\\', *p++};
            arr_put(a, esc, 2);
        }
    }
    arr_put(a, "\"", 1);
}

const char *arr_end(arr_t *a)
{
    arr_put(a, a->len ? "}" : "{}", a->len ? 1 : 2);
    if (a->oom)
        return NULL;
    a->s[a->len] = '\0';
    return a->s;
}
