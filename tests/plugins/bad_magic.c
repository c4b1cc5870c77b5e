#include "refuse_common.h"
REFUSED_PLUGIN(.magic = 0xdeadbeef, .abi_major = RZ_ABI_MAJOR, .abi_minor = 0,
               .size = sizeof(rz_plugin_desc_t), .name = "bad_magic", .version = "1.0.0",
               .init = noop_init)
