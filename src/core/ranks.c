/* MPI ranks (ranks.h). Without RELMASK_MPI every function is the one-rank
 * case. */
#include "core/ranks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/progress.h"

#ifdef RELMASK_MPI
#include <mpi.h>

static int joined, world_rank, world_size = 1;
static int failure_agreed;   /* every rank knows of the last failure */

/* mpirun (Open MPI, MPICH, Hydra) and srun with PMI or PMIx set these. */
static int launched_by_mpi(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK",
                                       "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

int rm_ranks_init(int *argc, char ***argv)
{
    if (!launched_by_mpi()) return 0;
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return rm_error("MPI_Init_thread failed: is this process started by a matching mpirun?");
    joined = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    if (world_rank > 0) {
        rm_log_set_quiet(1);
        rm_warn_set_quiet(1);
        rm_progress_set_quiet(1);
    }
    return 0;
}

void rm_ranks_finalize(int exit_code)
{
    if (!joined) return;
    joined = 0;
    if (exit_code != 0 && exit_code != RM_EXIT_USAGE && !failure_agreed && world_size > 1) {
        /* A failure every rank agreed on (or a usage error, which every
         * rank finds in the same arguments) ends each rank normally; any
         * other must not leave the others waiting in a collective call. */
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, exit_code);
    }
    MPI_Finalize();
}

int rm_ranks_rank(void) { return world_rank; }
int rm_ranks_size(void) { return world_size; }
int rm_ranks_built_with_mpi(void) { return 1; }
int rm_ranks_failure_agreed(void) { return failure_agreed; }

int rm_ranks_agree(int rc)
{
    if (world_size == 1) return rc;
    int mine = rc != 0 ? world_rank : world_size, first;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == world_size) return 0;
    failure_agreed = 1;
    char msg[2048];   /* the usage mark, then the message */
    snprintf(msg, sizeof msg, "%c%s", rm_error_is_usage() ? 'u' : '-', first == world_rank ? rm_error_message() : "");
    MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, MPI_COMM_WORLD);
    if (first > 0) rm_error("rank %d: %s", first, msg + 1);
    else if (world_rank != 0) rm_error("%s", msg + 1);
    if (msg[0] == 'u') rm_error_mark_usage();
    return -1;
}

int rm_ranks_max(int value)
{
    int max = value;
    if (world_size > 1) MPI_Allreduce(&value, &max, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return max;
}

/* MPI counts are ints: large buffers go in pieces. */
static int sum_in_place(void *values, size_t n, MPI_Datatype type, size_t size)
{
    enum { PIECE = 1 << 28 };
    for (size_t at = 0; at < n; at += PIECE) {
        int count = (int)(n - at < PIECE ? n - at : PIECE);
        if (MPI_Allreduce(MPI_IN_PLACE, (char *)values + at * size, count, type, MPI_SUM, MPI_COMM_WORLD) !=
            MPI_SUCCESS)
            return rm_error("MPI_Allreduce of %zu values failed", n);
    }
    return 0;
}

int rm_ranks_sum_floats(float *values, size_t n)
{
    return world_size == 1 ? 0 : sum_in_place(values, n, MPI_FLOAT, sizeof *values);
}

int rm_ranks_sum_doubles(double *values, size_t n)
{
    return world_size == 1 ? 0 : sum_in_place(values, n, MPI_DOUBLE, sizeof *values);
}

/* The sums started and not yet waited for; more than fit are waited for
 * first (the same result, less overlap). */
enum { MAX_PENDING = 256 };
static MPI_Request pending[MAX_PENDING];
static int num_pending;

int rm_ranks_sum_wait(void)
{
    int rc = num_pending && MPI_Waitall(num_pending, pending, MPI_STATUSES_IGNORE) != MPI_SUCCESS
                 ? rm_error("MPI_Waitall of %d gradient sums failed", num_pending)
                 : 0;
    num_pending = 0;
    return rc;
}

int rm_ranks_progress(void)
{
    int done;
    if (num_pending && MPI_Testall(num_pending, pending, &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
        return rm_error("MPI_Testall of %d gradient sums failed", num_pending);
    return 0;
}

int rm_ranks_sum_floats_start(float *values, size_t n)
{
    if (world_size == 1) return 0;
    enum { PIECE = 1 << 28 };
    for (size_t at = 0; at < n; at += PIECE) {
        if (num_pending == MAX_PENDING) RM_TRY(rm_ranks_sum_wait());
        int count = (int)(n - at < PIECE ? n - at : PIECE);
        if (MPI_Iallreduce(MPI_IN_PLACE, values + at, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                           &pending[num_pending]) != MPI_SUCCESS)
            return rm_error("MPI_Iallreduce of %zu values failed", n);
        num_pending++;
    }
    return rm_ranks_progress();
}

int rm_ranks_sum_u64(uint64_t *values, size_t n)
{
    return world_size == 1 ? 0 : sum_in_place(values, n, MPI_UINT64_T, sizeof *values);
}

int rm_ranks_allgather_floats(const float *mine, size_t n, float *all, size_t total)
{
    if (world_size == 1) {
        if (n != total) return rm_error("gathering %zu values into %zu", n, total);
        memmove(all, mine, n * sizeof *all);
        return 0;
    }
    if (total > (size_t)INT32_MAX) return rm_error("gathering %zu values: more than MPI's int counts", total);
    int count = (int)n, *counts = rm_malloc(sizeof *counts * (size_t)world_size * 2, "gather counts");
    if (!counts) return -1;
    int *displs = counts + world_size;
    MPI_Allgather(&count, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD);
    size_t sum = 0;
    for (int r = 0; r < world_size; r++) displs[r] = (int)sum, sum += (size_t)counts[r];
    int rc = sum == total ? 0 : rm_error("gathering %zu values into %zu", sum, total);
    if (rc == 0 && MPI_Allgatherv(mine, count, MPI_FLOAT, all, counts, displs, MPI_FLOAT, MPI_COMM_WORLD) !=
                       MPI_SUCCESS)
        rc = rm_error("MPI_Allgatherv of %zu values failed", total);
    free(counts);
    return rc;
}

int rm_ranks_allgather_bytes(const void *mine, size_t n, void **all, size_t *total)
{
    *all = NULL;
    *total = 0;
    if (world_size == 1) {
        if (!(*all = rm_malloc(n ? n : 1, "gathered bytes"))) return -1;
        if (n) memcpy(*all, mine, n);
        *total = n;
        return 0;
    }
    int count = n > (size_t)INT32_MAX ? -1 : (int)n;
    int *counts = rm_malloc(sizeof *counts * (size_t)world_size * 2, "gather counts");
    if (rm_ranks_agree(counts ? 0 : -1) != 0) {   /* every rank takes part in the same collectives */
        free(counts);
        return -1;
    }
    int *displs = counts + world_size;
    MPI_Allgather(&count, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD);
    size_t sum = 0;
    int rc = 0;
    for (int r = 0; r < world_size && rc == 0; r++) {
        if (counts[r] < 0 || sum + (size_t)counts[r] > (size_t)INT32_MAX)
            rc = rm_error("gathering more than %d bytes, MPI's int counts", INT32_MAX);
        displs[r] = (int)sum;
        sum += rc == 0 ? (size_t)counts[r] : 0;
    }
    if (rc == 0 && !(*all = rm_malloc(sum ? sum : 1, "gathered bytes"))) rc = -1;
    if (rm_ranks_agree(rc) != 0) {
        free(counts);
        free(*all);
        *all = NULL;
        return -1;
    }
    rc = MPI_Allgatherv(mine, count, MPI_BYTE, *all, counts, displs, MPI_BYTE, MPI_COMM_WORLD) == MPI_SUCCESS
             ? 0 : rm_error("MPI_Allgatherv of %zu bytes failed", sum);
    free(counts);
    if (rc != 0) {
        free(*all);
        *all = NULL;
        return -1;
    }
    *total = sum;
    return 0;
}

int rm_ranks_broadcast(void *data, size_t bytes)
{
    if (world_size == 1) return 0;
    if (bytes > (size_t)INT32_MAX) return rm_error("broadcast of %zu bytes is too large", bytes);
    MPI_Bcast(data, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
    return 0;
}

int rm_ranks_check_same(const char *text, const char *what)
{
    if (world_size == 1) return 0;
    char mine[512], root[512];
    snprintf(mine, sizeof mine, "%s", text);
    memcpy(root, mine, sizeof root);
    MPI_Bcast(root, (int)sizeof root, MPI_CHAR, 0, MPI_COMM_WORLD);
    int differs = strcmp(mine, root) != 0 ? world_rank : world_size, first;
    MPI_Allreduce(&differs, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == world_size) return 0;
    failure_agreed = 1;
    char theirs[512];
    memcpy(theirs, mine, sizeof theirs);
    MPI_Bcast(theirs, (int)sizeof theirs, MPI_CHAR, first, MPI_COMM_WORLD);
    return rm_error("rank %d reads another %s than rank 0 (%s, rank 0: %s): every rank must see the same file",
                    first, what, theirs, root);
}

void rm_ranks_barrier(void)
{
    if (world_size > 1) MPI_Barrier(MPI_COMM_WORLD);
}

#else

int rm_ranks_init(int *argc, char ***argv) { return 0; }
void rm_ranks_finalize(int exit_code) {}
int rm_ranks_rank(void) { return 0; }
int rm_ranks_size(void) { return 1; }
int rm_ranks_built_with_mpi(void) { return 0; }
int rm_ranks_failure_agreed(void) { return 0; }
int rm_ranks_agree(int rc) { return rc; }
int rm_ranks_max(int value) { return value; }
int rm_ranks_sum_floats(float *values, size_t n) { return 0; }
int rm_ranks_sum_doubles(double *values, size_t n) { return 0; }
int rm_ranks_sum_floats_start(float *values, size_t n) { return 0; }
int rm_ranks_progress(void) { return 0; }
int rm_ranks_sum_wait(void) { return 0; }
int rm_ranks_sum_u64(uint64_t *values, size_t n) { return 0; }
int rm_ranks_broadcast(void *data, size_t bytes) { return 0; }
int rm_ranks_allgather_floats(const float *mine, size_t n, float *all, size_t total)
{
    if (n != total) return rm_error("gathering %zu values into %zu", n, total);
    memmove(all, mine, n * sizeof *all);
    return 0;
}
int rm_ranks_allgather_bytes(const void *mine, size_t n, void **all, size_t *total)
{
    *total = n;
    if (!(*all = rm_malloc(n ? n : 1, "gathered bytes"))) return -1;
    if (n) memcpy(*all, mine, n);
    return 0;
}
int rm_ranks_check_same(const char *text, const char *what) { return 0; }
void rm_ranks_barrier(void) {}

#endif
