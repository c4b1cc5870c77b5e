/*
 * db_int.h — what db.c and db_result.c share.  Not for other modules.
 */
#ifndef RZ_DB_INT_H
#define RZ_DB_INT_H

#include <libpq-fe.h>

#include "rentezy/plugin.h"

/* What a callback receives.  Lives on the stack of the function that calls
 * the callback; pg (may be NULL) is owned by that function and cleared right
 * after the callback returns. */
struct rz_dbres {
    int status;          /* RZ_OK, RZ_ERR (server said no), RZ_EUNAVAIL */
    PGresult *pg;        /* the statement's result, or the error's */
    const char *message; /* NULL: take it from pg */
};

/* Fill res for a host-side failure (no PGresult).  msg must outlive res. */
static inline void rz__dbres_fail(struct rz_dbres *res, int status, const char *msg)
{
    res->status = status;
    res->pg = NULL;
    res->message = msg;
}

#endif
