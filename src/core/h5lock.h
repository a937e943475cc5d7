/* One process-wide lock around every HDF5 call made while another thread
 * may also be using HDF5. The training loader's prefetch thread streams
 * images while the training thread runs; any other code that calls HDF5
 * while a streaming loader is active (checkpoint and model writing,
 * evaluation readers, ...) must hold this lock around its HDF5 calls.
 *
 * Why: relmask must work with a non-thread-safe HDF5 build, and even a
 * thread-safe build does not cover the high-level library (H5IM, H5LT in
 * libhdf5_hl). Debian 12's libhdf5 1.10.8 serial flavour is in fact built
 * thread-safe (H5is_library_threadsafe reports 1); there the error stack
 * and H5Eset_auto2 are per thread, so a new thread that calls HDF5 must
 * silence automatic error printing itself.
 *
 * Not recursive: do not take it twice in one thread. Hold it only around
 * HDF5 calls, never while waiting on the loader (rm_loader_next). */
#ifndef RELMASK_H5LOCK_H
#define RELMASK_H5LOCK_H

void rm_hdf5_lock(void);
void rm_hdf5_unlock(void);

#endif
