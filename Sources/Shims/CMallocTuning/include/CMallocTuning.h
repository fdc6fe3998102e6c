#ifndef HERALD_CMALLOCTUNING_H
#define HERALD_CMALLOCTUNING_H

/// Return every free page of glibc's arenas to the kernel, not only the top of the heap
/// (malloc_trim(0)). Returns 1 if memory was released, 0 otherwise or where unsupported.
int herald_release_free_memory(void);

#endif
