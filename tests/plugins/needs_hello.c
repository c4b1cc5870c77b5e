/* Requires hello; listed before it in the config, it must still load after. */
#include "refuse_common.h"
static const char *const reqs[] = {"hello", NULL};
RZ_PLUGIN_DEFINE(.name = "needs_hello", .version = "1.0.0", .description = "requires hello",
                 .requires = reqs, .init = noop_init)
