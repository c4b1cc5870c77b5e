/*
 * property — listings, their photos and blackout dates; publishes every
 * change on property-events (see events.c).
 *
 * Configuration ([plugin.property]):
 *   media_dir       /var/lib/rentezy/media   where photos are stored by hash
 *   max_photo_size  8MiB   largest photo accepted; also the upload route's
 *                          body limit (ABI 1.2), whatever [http] max_body_size
 *   max_photos      20     photos per listing
 *
 * Routes: see the table below and openapi.json; rentezy-property(7).
 */
#include "prop.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "rzu_embed.h"

prop_t prop_g;

RZU_EMBED(prop_sql_001, "plugins/property/schema/001_properties.sql");
RZU_EMBED(prop_openapi, "plugins/property/openapi.json");

#define R(m, p, a, h, s)                                                                 \
    {.size = sizeof(rz_route_t), .method = m, .path = p, .access = a, .handler = h,      \
     .summary = s}
#define PUB RZ_ACCESS_PUBLIC
#define LL RZ_ACCESS_LANDLORD

static const rz_route_t routes[] = {
    R("POST", "/v1/properties", LL, h_create, "create a draft listing"),
    R("GET", "/v1/properties", LL, h_list, "the caller's listings"),
    R("GET", "/v1/properties/{id}", PUB, h_get, "a listing"),
    R("PATCH", "/v1/properties/{id}", LL, h_patch, "change a listing (If-Match)"),
    R("DELETE", "/v1/properties/{id}", LL, h_delete, "unlist for good"),
    R("POST", "/v1/properties/{id}/publish", LL, h_publish, "make a draft public"),
    R("POST", "/v1/properties/{id}/unpublish", LL, h_unpublish, "back to draft"),
    R("POST", "/v1/properties/{id}/blocks", LL, h_blocks_add, "add blackout dates"),
    R("GET", "/v1/properties/{id}/blocks", PUB, h_blocks_list, "blackout dates"),
    R("DELETE", "/v1/properties/{id}/blocks/{block_id}", LL, h_blocks_delete,
      "remove blackout dates"),
    R("POST", "/v1/properties/{id}/photos", LL, h_photos_add, "upload a photo (image bytes)"),
    R("PUT", "/v1/properties/{id}/photos/order", LL, h_photos_order, "reorder the photos"),
    R("DELETE", "/v1/properties/{id}/photos/{photo_id}", LL, h_photos_delete, "remove a photo"),
    R("GET", "/media/{hash}", PUB, h_media, "a stored photo by content hash"),
};

static int fail(const char *msg)
{
    prop_g.host->log(prop_g.self, RZ_LOG_ERROR, "%s", msg);
    return RZ_EINVAL;
}

static int configure(void)
{
    const rz_host_t *h = prop_g.host;
    rz_plugin_t *self = prop_g.self;
    if (h->config_string(self, "media_dir", "/var/lib/rentezy/media", &prop_g.media_dir) ||
        h->config_size(self, "max_photo_size", 8u << 20, &prop_g.max_photo_size) ||
        h->config_int(self, "max_photos", 20, &prop_g.max_photos))
        return RZ_EINVAL; /* the host logged file:line */
    if (!prop_g.media_dir || prop_g.media_dir[0] != '/')
        return fail("[plugin.property] media_dir: expected an absolute path");
    if (prop_g.max_photo_size < 1024 || prop_g.max_photo_size > (256u << 20))
        return fail("[plugin.property] max_photo_size: expected 1KiB to 256MiB");
    if (prop_g.max_photos < 1 || prop_g.max_photos > 100)
        return fail("[plugin.property] max_photos: expected 1 to 100");
    if (media_init() < 0) {
        prop_g.host->log(prop_g.self, RZ_LOG_ERROR,
                         "[plugin.property] media_dir %s: cannot create it: %s", prop_g.media_dir,
                         strerror(errno));
        return RZ_EINVAL;
    }
    return RZ_OK;
}

static int prop_init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    int rc;
    prop_g.host = host;
    prop_g.self = self;
    if (sodium_init() < 0)
        return fail("libsodium failed to initialise");
    if ((rc = configure()) != RZ_OK)
        return rc;
    if ((rc = host->migration(self, 1, "properties", prop_sql_001)) != RZ_OK)
        return rc;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        rz_route_t r = routes[i];
        if (r.handler == h_photos_add) /* photos are raw bodies */
            r.max_body = prop_g.max_photo_size;
        if ((rc = host->route(self, &r)) != RZ_OK)
            return rc;
    }
    *state = &prop_g;
    return host->openapi(self, prop_openapi);
}

/* start runs in every worker: re-read settings so SIGHUP changes apply. */
static int prop_start(rz_plugin_t *self, void *state)
{
    return configure();
}

static const char *const prop_requires[] = {"cap:db", "cap:bus", NULL};

RZ_PLUGIN_DEFINE(.name = "property", .version = "1.0.0",
                 .description = "Listings, photos and blackout dates; publishes property-events",
                 .requires = prop_requires, .init = prop_init, .start = prop_start)
