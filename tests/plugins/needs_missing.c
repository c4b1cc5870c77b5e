#include "refuse_common.h"
static const char *const reqs[] = {"nosuch", NULL};
RZ_PLUGIN_DEFINE(.name = "needs_missing", .version = "1.0.0", .requires = reqs, .init = noop_init)
