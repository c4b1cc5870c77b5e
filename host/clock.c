#include "clock.h"

#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

static _Atomic int64_t local_offset;
static _Atomic int64_t *offset = &local_offset;

int rz__clock_init(void)
{
    void *p = mmap(NULL, sizeof(*offset), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED)
        return -1;
    offset = p;
    atomic_store(offset, 0);
    return 0;
}

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t rz__now_ms(void) { return clock_ms(CLOCK_REALTIME) + atomic_load(offset); }
int64_t rz__mono_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

double rz__mono_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rz__clock_advance(int64_t ms) { atomic_fetch_add(offset, ms); }
int64_t rz__clock_offset(void) { return atomic_load(offset); }
