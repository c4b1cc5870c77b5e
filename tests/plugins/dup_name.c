/* Claims the name of the hello plugin. */
#include "refuse_common.h"
RZ_PLUGIN_DEFINE(.name = "hello", .version = "9.9.9", .init = noop_init)
