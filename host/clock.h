/*
 * clock.h — the host clock.  Everything that schedules (jobs, holds, rent)
 * asks rz__now_ms(), never time(): tests move the clock forward with
 * rz__clock_advance() (exposed as POST /v1/_test/clock when
 * [host] test_clock = true), so a month of schedules runs in seconds.
 * The offset lives in memory shared by the master and all workers.
 */
#ifndef RZ_CLOCK_H
#define RZ_CLOCK_H

#include <stdint.h>

/* Map the shared offset; call in the master before forking.  0 or -1. */
int rz__clock_init(void);
int64_t rz__now_ms(void);       /* real time + offset */
int64_t rz__mono_ms(void);      /* CLOCK_MONOTONIC, for durations */
double rz__mono_sec(void);
void rz__clock_advance(int64_t ms);
int64_t rz__clock_offset(void);

#endif
