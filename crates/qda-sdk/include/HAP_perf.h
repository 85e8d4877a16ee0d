/*
 * qda DSP runtime: time and cycle counters. Written for qda; names and
 * signatures follow the Hexagon SDK's HAP_perf.h.
 *
 * In qda all of them read CLOCK_MONOTONIC: the qtimer is the SDK's 19.2 MHz
 * global counter derived from it, and "processor cycles" count a nominal
 * 1 GHz clock (one cycle per nanosecond): there is no Hexagon core here.
 */
#ifndef HAP_PERF_H
#define HAP_PERF_H

#include "AEEStdDef.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Microseconds of a monotonic clock. */
uint64 HAP_perf_get_time_us(void);

/* The 19.2 MHz global counter. */
uint64 HAP_perf_get_qtimer_count(void);

/* A qtimer count in microseconds. */
uint64 HAP_perf_qtimer_count_to_us(uint64 count);

/* Processor cycles (qda: nanoseconds of the monotonic clock). */
uint64 HAP_perf_get_pcycles(void);

/* Sleep for `sleep_duration` microseconds; 0. */
int HAP_timer_sleep(unsigned long long sleep_duration);

#ifdef __cplusplus
}
#endif

#endif /* HAP_PERF_H */
