#include "core/h5lock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t h5_mutex = PTHREAD_MUTEX_INITIALIZER;

void rm_hdf5_lock(void)
{
    if (pthread_mutex_lock(&h5_mutex) != 0) {
        fprintf(stderr, "relmask: internal error: cannot take the HDF5 lock\n");
        abort();
    }
}

void rm_hdf5_unlock(void)
{
    if (pthread_mutex_unlock(&h5_mutex) != 0) {
        fprintf(stderr, "relmask: internal error: cannot release the HDF5 lock\n");
        abort();
    }
}
