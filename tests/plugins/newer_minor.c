#include "refuse_common.h"
REFUSED_PLUGIN(.magic = RZ_PLUGIN_MAGIC, .abi_major = RZ_ABI_MAJOR, .abi_minor = RZ_ABI_MINOR + 1,
               .size = sizeof(rz_plugin_desc_t), .name = "newer_minor", .version = "1.0.0",
               .init = noop_init)
