#include "host.h"

rz_runtime_t rz__rt = {.worker_index = -1};
