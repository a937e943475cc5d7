/* The process's place among MPI ranks (docs/scale.md, "MPI").
 *
 * A build with MPI=1 (RELMASK_MPI) joins MPI_COMM_WORLD when a launcher
 * started it (mpirun, srun: their environment says so); run plainly, or
 * built without MPI, it is rank 0 of 1 and nothing here touches MPI. Every
 * call below is collective unless it says otherwise: all ranks make it, in
 * the same order. */
#ifndef RELMASK_RANKS_H
#define RELMASK_RANKS_H

#include <stddef.h>
#include <stdint.h>

/* Joins the world when launched by mpirun/srun (MPI_THREAD_FUNNELED: only
 * the main thread calls MPI, OpenMP threads never do). Ranks above 0 stay
 * quiet: their logs, warnings and progress are dropped, and their errors
 * reach rank 0 through rm_ranks_agree. Not collective before it returns. */
int rm_ranks_init(int *argc, char ***argv);
/* Leaves the world (MPI_Finalize). After a failure the other ranks may not
 * know of (exit_code not 0 nor a usage error, and no rm_ranks_agree or
 * rm_ranks_check_same reported it), ends every rank instead (MPI_Abort). */
void rm_ranks_finalize(int exit_code);

/* Local: this rank, the number of ranks; 0 and 1 without MPI. */
int rm_ranks_rank(void);
int rm_ranks_size(void);
/* Local: whether this binary was built with MPI. */
int rm_ranks_built_with_mpi(void);

/* Every rank passes its own rc (0 or -1). Returns 0 when all were 0;
 * otherwise -1 on every rank, with rm_error set on every rank to the
 * message of the lowest failing rank, prefixed "rank K: " when K > 0. */
int rm_ranks_agree(int rc);
/* The largest of every rank's value. */
int rm_ranks_max(int value);
/* In place, every rank's values summed element by element (MPI_Allreduce;
 * the same sum on every rank). */
int rm_ranks_sum_floats(float *values, size_t n);
int rm_ranks_sum_doubles(double *values, size_t n);
int rm_ranks_sum_u64(uint64_t *values, size_t n);
/* Non-blocking sums (MPI_Iallreduce), for overlapping communication with
 * computation: rm_ranks_sum_floats_start begins summing n floats in place,
 * rm_ranks_progress lets the started sums advance (call it between pieces
 * of work: with MPI_THREAD_FUNNELED nothing else moves them), and
 * rm_ranks_sum_wait returns once every started sum is complete. The values
 * must not be read or written between start and wait. Sums are started in
 * the same order on every rank. */
int rm_ranks_sum_floats_start(float *values, size_t n);
int rm_ranks_progress(void);
int rm_ranks_sum_wait(void);
/* Every rank's n floats, concatenated in rank order, on every rank:
 * all holds total floats, the sum of every rank's n. */
int rm_ranks_allgather_floats(const float *mine, size_t n, float *all, size_t total);
/* Every rank's n bytes (n may differ between ranks, and be 0),
 * concatenated in rank order, on every rank: *all (malloc'd, free it)
 * holds *total bytes. A failure is agreed on, as rm_ranks_agree. */
int rm_ranks_allgather_bytes(const void *mine, size_t n, void **all, size_t *total);
/* Rank 0's bytes to every rank. */
int rm_ranks_broadcast(void *data, size_t bytes);
/* Fails (on every rank) unless every rank holds the same text, naming
 * `what` and the first rank that differs from rank 0. */
int rm_ranks_check_same(const char *text, const char *what);
/* Local: whether rm_ranks_agree or rm_ranks_check_same last reported a
 * failure to every rank (rank 0 then prints it for all). */
int rm_ranks_failure_agreed(void);
/* Every rank waits for the others. */
void rm_ranks_barrier(void);

#endif
