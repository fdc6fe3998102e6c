#include "CMallocTuning.h"
// Defines __GLIBC__, which the test below needs: without a libc header first it is never set.
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>

int herald_release_free_memory(void) {
    return malloc_trim(0);
}
#else
int herald_release_free_memory(void) {
    return 0;
}
#endif
