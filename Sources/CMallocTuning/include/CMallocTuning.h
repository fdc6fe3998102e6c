#ifndef HERALD_CMALLOCTUNING_H
#define HERALD_CMALLOCTUNING_H

/// Keep up to `bytes` of freed memory at the top of glibc's heap instead of returning it
/// to the kernel at once (M_TRIM_THRESHOLD). Returns 1 on success, 0 where unsupported.
int herald_set_malloc_trim_threshold(int bytes);

#endif
