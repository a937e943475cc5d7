#include "nn/dnn.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "core/error.h"

int rm_dnnl_check(dnnl_status_t status, const char *call, const char *file, int line)
{
    if (status == dnnl_success) return 0;
    const char *open = strchr(call, '(');
    int name_len = open ? (int)(open - call) : (int)strlen(call);
    return rm_error("oneDNN: %.*s failed: %s (%s:%d)", name_len, call, dnnl_status2str(status), file, line);
}

int rm_dnn_create(rm_dnn *dnn)
{
    memset(dnn, 0, sizeof *dnn);
    RM_DNNL_TRY(dnnl_engine_create(&dnn->engine, dnnl_cpu, 0));
    if (RM_DNNL(dnnl_stream_create(&dnn->stream, dnn->engine, dnnl_stream_default_flags)) != 0) {
        dnnl_engine_destroy(dnn->engine);
        dnn->engine = NULL;
        return -1;
    }
    return 0;
}

void rm_dnn_destroy(rm_dnn *dnn)
{
    if (dnn->stream) dnnl_stream_destroy(dnn->stream);
    if (dnn->engine) dnnl_engine_destroy(dnn->engine);
    memset(dnn, 0, sizeof *dnn);
}

int rm_md_init(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims, dnnl_format_tag_t tag)
{
    return RM_DNNL(dnnl_memory_desc_init_by_tag(md, ndims, dims, dnnl_f32, tag));
}

dnnl_memory_desc_t rm_pd_md(const_dnnl_primitive_desc_t pd, dnnl_query_t what, int index)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, what, index);
    dnnl_memory_desc_t zero;
    memset(&zero, 0, sizeof zero);
    return md ? *md : zero;
}

int rm_md_equal(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
    return dnnl_memory_desc_equal(a, b) != 0;
}

int rm_arena_memory(rm_arena *a, rm_dnn *dnn, const dnnl_memory_desc_t *md, dnnl_memory_t *mem)
{
    if (a->count == RM_ARENA_MAX) return rm_error("arena: more than %d buffers", RM_ARENA_MAX);
    RM_DNNL_TRY(dnnl_memory_create(mem, md, dnn->engine, DNNL_MEMORY_NONE));
    a->item[a->count].mem = *mem;
    a->item[a->count].raw = NULL;
    a->item[a->count].size = dnnl_memory_desc_get_size(md);
    a->count++;
    return 0;
}

int rm_arena_raw(rm_arena *a, size_t size, void **ptr)
{
    if (a->count == RM_ARENA_MAX) return rm_error("arena: more than %d buffers", RM_ARENA_MAX);
    a->item[a->count].mem = NULL;
    a->item[a->count].raw = ptr;
    a->item[a->count].size = size;
    a->count++;
    return 0;
}

int rm_arena_bind(rm_arena *a)
{
    enum { ALIGN = 64 };
    size_t total = 0;
    for (size_t i = 0; i < a->count; i++) {
        a->item[i].offset = total;
        total += (a->item[i].size + ALIGN - 1) / ALIGN * ALIGN;
    }
    a->total = total;
    a->base = aligned_alloc(ALIGN, total ? total : ALIGN);
    if (!a->base) return rm_error("out of memory: %zu bytes for network buffers", total);
    memset(a->base, 0, total);   /* touches every page once, up front */
    for (size_t i = 0; i < a->count; i++) {
        void *p = (char *)a->base + a->item[i].offset;
        if (a->item[i].mem) RM_DNNL_TRY(dnnl_memory_set_data_handle(a->item[i].mem, p));
        else *a->item[i].raw = p;
    }
    return 0;
}

void rm_arena_free(rm_arena *a)
{
    free(a->base);
    memset(a, 0, sizeof *a);
}

int rm_exec(rm_dnn *dnn, dnnl_primitive_t prim, int nargs, ...)
{
    enum { MAX_ARGS = 12 };
    if (nargs > MAX_ARGS) return rm_error("rm_exec: %d arguments, at most %d", nargs, MAX_ARGS);
    dnnl_exec_arg_t args[MAX_ARGS];
    int n = 0;
    va_list ap;
    va_start(ap, nargs);
    for (int i = 0; i < nargs; i++) {
        int arg = va_arg(ap, int);
        dnnl_memory_t mem = va_arg(ap, dnnl_memory_t);
        if (mem) args[n++] = (dnnl_exec_arg_t){arg, mem};
    }
    va_end(ap);
    return RM_DNNL(dnnl_primitive_execute(prim, dnn->stream, n, args));
}

int rm_primitive(dnnl_primitive_t *prim, const_dnnl_primitive_desc_t pd)
{
    return RM_DNNL(dnnl_primitive_create(prim, pd));
}

void rm_primitive_destroy(dnnl_primitive_t *prim)
{
    if (*prim) dnnl_primitive_destroy(*prim);
    *prim = NULL;
}

void rm_pd_destroy(dnnl_primitive_desc_t *pd)
{
    if (*pd) dnnl_primitive_desc_destroy(*pd);
    *pd = NULL;
}

void rm_memory_destroy(dnnl_memory_t *mem)
{
    if (*mem) dnnl_memory_destroy(*mem);
    *mem = NULL;
}

int rm_reorder_create(dnnl_primitive_t *prim, rm_dnn *dnn, const dnnl_memory_desc_t *from,
                      const dnnl_memory_desc_t *to)
{
    *prim = NULL;
    if (rm_md_equal(from, to)) return 0;
    dnnl_primitive_desc_t pd;
    RM_DNNL_TRY(dnnl_reorder_primitive_desc_create(&pd, from, dnn->engine, to, dnn->engine, NULL));
    int rc = rm_primitive(prim, pd);
    dnnl_primitive_desc_destroy(pd);
    return rc;
}

int rm_reorder_run(rm_dnn *dnn, dnnl_primitive_t prim, dnnl_memory_t from, dnnl_memory_t to)
{
    if (!prim) return 0;
    return rm_exec(dnn, prim, 2, DNNL_ARG_FROM, from, DNNL_ARG_TO, to);
}

static const dnnl_memory_desc_t *memory_md(dnnl_memory_t mem)
{
    const dnnl_memory_desc_t *md = NULL;
    dnnl_memory_get_memory_desc(mem, &md);
    return md;
}

/* Copies between mem and a plain user buffer through a one-off reorder. */
static int user_copy(rm_dnn *dnn, dnnl_memory_t mem, float *data, dnnl_format_tag_t tag, int to_mem)
{
    const dnnl_memory_desc_t *md = memory_md(mem);
    dnnl_memory_desc_t user_md;
    RM_TRY(rm_md_init(&user_md, md->ndims, md->dims, tag));
    dnnl_memory_t user;
    RM_DNNL_TRY(dnnl_memory_create(&user, &user_md, dnn->engine, data));
    dnnl_primitive_t prim = NULL;
    int rc = to_mem ? rm_reorder_create(&prim, dnn, &user_md, md) : rm_reorder_create(&prim, dnn, md, &user_md);
    if (rc == 0) {
        if (prim) rc = to_mem ? rm_reorder_run(dnn, prim, user, mem) : rm_reorder_run(dnn, prim, mem, user);
        else if (to_mem) memcpy(rm_memory_ptr(mem), data, dnnl_memory_desc_get_size(md));
        else memcpy(data, rm_memory_ptr(mem), dnnl_memory_desc_get_size(md));
    }
    if (rc == 0) rc = RM_DNNL(dnnl_stream_wait(dnn->stream));
    rm_primitive_destroy(&prim);
    dnnl_memory_destroy(user);
    return rc;
}

int rm_memory_write(rm_dnn *dnn, dnnl_memory_t mem, const float *data, dnnl_format_tag_t tag)
{
    return user_copy(dnn, mem, (float *)data, tag, 1);
}

int rm_memory_read(rm_dnn *dnn, dnnl_memory_t mem, float *data, dnnl_format_tag_t tag)
{
    return user_copy(dnn, mem, data, tag, 0);
}

float *rm_memory_ptr(dnnl_memory_t mem)
{
    void *p = NULL;
    dnnl_memory_get_data_handle(mem, &p);
    return p;
}

size_t rm_memory_floats(dnnl_memory_t mem) { return dnnl_memory_desc_get_size(memory_md(mem)) / sizeof(float); }
