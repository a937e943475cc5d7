/* oneDNN plumbing: one CPU engine and stream per network, a checking
 * wrapper for every call, and an arena that gives every memory object of a
 * network its place in one allocation made up front. */
#ifndef RELMASK_DNN_H
#define RELMASK_DNN_H

#include <stddef.h>
#include <oneapi/dnnl/dnnl.h>

typedef struct {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
} rm_dnn;

int rm_dnn_create(rm_dnn *dnn);
void rm_dnn_destroy(rm_dnn *dnn);

/* Records "oneDNN: <call> failed: <status> (file:line)" and returns -1 when
 * status is not dnnl_success. */
int rm_dnnl_check(dnnl_status_t status, const char *call, const char *file, int line);
#define RM_DNNL(call) rm_dnnl_check((call), #call, __FILE__, __LINE__)
/* For calls whose failure is propagated: RM_DNNL_TRY(x) returns -1. */
#define RM_DNNL_TRY(call) do { if (RM_DNNL(call) != 0) return -1; } while (0)

/* A memory descriptor with a concrete tag (e.g. dnnl_nchw) or
 * dnnl_format_tag_any. dims are in oneDNN's logical order (N, C, H, W). */
int rm_md_init(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims, dnnl_format_tag_t tag);
/* The md a primitive descriptor chose for `what` (dnnl_query_src_md, ...). */
dnnl_memory_desc_t rm_pd_md(const_dnnl_primitive_desc_t pd, dnnl_query_t what, int index);
int rm_md_equal(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b);

/* The arena: memories are created without storage, registered with their
 * size, then bound to slices of one allocation (64-byte aligned, pages
 * touched once so the training loop never page-faults). Raw float buffers
 * (optimizer state, masks) are registered the same way. */
enum { RM_ARENA_MAX = 1024 };
typedef struct {
    size_t count;
    size_t total;
    struct { dnnl_memory_t mem; void **raw; size_t offset, size; } item[RM_ARENA_MAX];
    void *base;
} rm_arena;

/* Creates a memory for md with no storage yet and registers it. */
int rm_arena_memory(rm_arena *a, rm_dnn *dnn, const dnnl_memory_desc_t *md, dnnl_memory_t *mem);
/* Registers a raw buffer of `size` bytes; *ptr is set at rm_arena_bind. */
int rm_arena_raw(rm_arena *a, size_t size, void **ptr);
/* Allocates the arena, zeroes it, and binds every registered item. */
int rm_arena_bind(rm_arena *a);
void rm_arena_free(rm_arena *a);   /* frees storage; memories are the owners' */

/* Executes a primitive with up to 12 (arg, memory) pairs; NULL memories are
 * skipped. Example: rm_exec(dnn, p, 2, DNNL_ARG_SRC, src, DNNL_ARG_DST, dst). */
int rm_exec(rm_dnn *dnn, dnnl_primitive_t prim, int nargs, ...);

/* Creates a primitive from a descriptor (NULL-safe destroy helpers below). */
int rm_primitive(dnnl_primitive_t *prim, const_dnnl_primitive_desc_t pd);
void rm_primitive_destroy(dnnl_primitive_t *prim);
void rm_pd_destroy(dnnl_primitive_desc_t *pd);
void rm_memory_destroy(dnnl_memory_t *mem);

/* A reorder between two mds (NULL prim when they are equal). */
int rm_reorder_create(dnnl_primitive_t *prim, rm_dnn *dnn, const dnnl_memory_desc_t *from,
                      const dnnl_memory_desc_t *to);
int rm_reorder_run(rm_dnn *dnn, dnnl_primitive_t prim, dnnl_memory_t from, dnnl_memory_t to);

/* Reorders user data (plain tag `tag`, dims of md) into/out of memory mem. */
int rm_memory_write(rm_dnn *dnn, dnnl_memory_t mem, const float *data, dnnl_format_tag_t tag);
int rm_memory_read(rm_dnn *dnn, dnnl_memory_t mem, float *data, dnnl_format_tag_t tag);
float *rm_memory_ptr(dnnl_memory_t mem);
size_t rm_memory_floats(dnnl_memory_t mem);   /* incl. layout padding */

#endif
