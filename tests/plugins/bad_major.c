#include "refuse_common.h"
REFUSED_PLUGIN(.magic = RZ_PLUGIN_MAGIC, .abi_major = RZ_ABI_MAJOR + 1, .abi_minor = 0,
               .size = sizeof(rz_plugin_desc_t), .name = "bad_major", .version = "1.0.0",
               .init = noop_init)
