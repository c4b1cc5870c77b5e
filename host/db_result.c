/*
 * db_result.c — the rz_dbres_t accessors of plugin.h.  A plugin may pass
 * anything here (NULL, a column past the end); every accessor answers with
 * NULL, 0 or -1 instead of trusting it, because libpq's own accessors print
 * notices or crash on bad indexes.
 */
#include <stdlib.h>

#include "db.h"
#include "db_int.h"

int rz__svc_dbres_status(rz_dbres_t *res) { return res ? res->status : RZ_EINVAL; }

static const char *field(rz_dbres_t *res, int code)
{
    return res && res->pg ? PQresultErrorField(res->pg, code) : NULL;
}

const char *rz__svc_dbres_sqlstate(rz_dbres_t *res)
{
    return res && res->status == RZ_ERR ? field(res, PG_DIAG_SQLSTATE) : NULL;
}

const char *rz__svc_dbres_message(rz_dbres_t *res)
{
    if (!res)
        return "no result";
    if (res->message)
        return res->message;
    if (res->status == RZ_OK)
        return "ok";
    const char *m = field(res, PG_DIAG_MESSAGE_PRIMARY);
    return m ? m : "database error";
}

const char *rz__svc_dbres_constraint(rz_dbres_t *res)
{
    return res && res->status == RZ_ERR ? field(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
}

static int ok(rz_dbres_t *res) { return res && res->status == RZ_OK && res->pg; }

int rz__svc_dbres_rows(rz_dbres_t *res) { return ok(res) ? PQntuples(res->pg) : 0; }
int rz__svc_dbres_cols(rz_dbres_t *res) { return ok(res) ? PQnfields(res->pg) : 0; }

static int in_range(rz_dbres_t *res, int row, int col)
{
    return ok(res) && row >= 0 && row < PQntuples(res->pg) && col >= 0 &&
           col < PQnfields(res->pg);
}

const char *rz__svc_dbres_colname(rz_dbres_t *res, int col)
{
    if (!ok(res) || col < 0 || col >= PQnfields(res->pg))
        return NULL;
    return PQfname(res->pg, col);
}

const char *rz__svc_dbres_value(rz_dbres_t *res, int row, int col)
{
    if (!in_range(res, row, col) || PQgetisnull(res->pg, row, col))
        return NULL;
    return PQgetvalue(res->pg, row, col);
}

/* Out of range reads as NULL, which is what a missing value is. */
int rz__svc_dbres_isnull(rz_dbres_t *res, int row, int col)
{
    return in_range(res, row, col) ? PQgetisnull(res->pg, row, col) : 1;
}

/* -1 when the statement reports no count (e.g. BEGIN) or failed. */
int64_t rz__svc_dbres_affected(rz_dbres_t *res)
{
    if (!ok(res))
        return -1;
    const char *s = PQcmdTuples(res->pg);
    if (!s || !*s)
        return -1;
    return strtoll(s, NULL, 10);
}
