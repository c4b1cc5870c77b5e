/*
 * props.c — chat's read model of listings (owner, published), fed by
 * property-events (shared group "chat").  Every event carries the whole
 * snapshot (plugins/property/events.c); chat.apply_property keeps the owner
 * and the status and ignores a version older than the one it has, so
 * redelivery and replays are harmless.
 */
#include "chat.h"

#include <stdlib.h>
#include <string.h>

typedef struct apply {
    rz_event_t *ev;
    char id[UUID_LEN + 1];
    char version[24];
} apply_t;

static void applied(rz_dbres_t *res, void *u)
{
    apply_t *a = u;
    int st = H->dbres_status(res);
    if (st == RZ_OK) {
        H->bus_done(a->ev, RZ_BUS_OK, NULL);
    } else if (st == RZ_EUNAVAIL) {
        H->bus_done(a->ev, RZ_BUS_RETRY, "the database is unavailable");
    } else {
        H->log(chat_g.self, RZ_LOG_WARN, "%s %s: %s", H->event_type(a->ev), H->event_id(a->ev),
               H->dbres_message(res));
        H->bus_done(a->ev, RZ_BUS_FAIL, H->dbres_message(res));
    }
    free(a);
}

void on_property_event(rz_event_t *ev, void *u)
{
    static const char sql[] = "SELECT chat.apply_property($1::uuid, $2::bigint, $3::jsonb)";
    const char *subject = H->event_subject(ev), *data = H->event_data(ev);
    if (!is_uuid(subject) || !data) {
        H->bus_done(ev, RZ_BUS_FAIL, "property event without a listing id or data");
        return;
    }
    apply_t *a = calloc(1, sizeof(*a));
    if (!a) {
        H->bus_done(ev, RZ_BUS_RETRY, "out of memory");
        return;
    }
    a->ev = ev;
    memcpy(a->id, subject, UUID_LEN + 1);
    i64_text(H->event_version(ev), a->version);
    const char *p[] = {a->id, a->version, data};
    if (H->db_query(chat_g.self, 0, sql, 3, p, applied, a) != RZ_OK) {
        H->bus_done(ev, RZ_BUS_RETRY, "the database is unavailable");
        free(a);
    }
}
