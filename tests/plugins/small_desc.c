#include "refuse_common.h"
REFUSED_PLUGIN(.magic = RZ_PLUGIN_MAGIC, .abi_major = RZ_ABI_MAJOR, .abi_minor = 0,
               .size = 16, .name = "small_desc", .version = "1.0.0", .init = noop_init)
