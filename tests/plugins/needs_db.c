#include "refuse_common.h"
static const char *const reqs[] = {"cap:db", NULL};
RZ_PLUGIN_DEFINE(.name = "needs_db", .version = "1.0.0", .requires = reqs, .init = noop_init)
