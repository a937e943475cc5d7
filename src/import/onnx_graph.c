/* Reading an ONNX file: the protobuf, the opset, the constant tensors, and
 * folding of the exporter's shape-only subgraphs. */
#include "import/onnx_graph.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

enum { MAX_FILE_BYTES = 1 << 30, MAX_CONST_VALUES = 1 << 28 };

static int read_file(const char *path, uint8_t **bytes, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return rm_error("%s: cannot open: %s", path, strerror(errno));
    int rc = 0;
    long n = -1;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        rc = rm_error("%s: cannot read: %s", path, strerror(errno));
    else if (n == 0)
        rc = rm_error("%s: empty file, expected an ONNX model", path);
    else if (n > MAX_FILE_BYTES)
        rc = rm_error("%s: %ld bytes; models over %d bytes are not supported", path, n, MAX_FILE_BYTES);
    if (rc == 0 && !(*bytes = rm_malloc((size_t)n, "ONNX file"))) rc = -1;
    if (rc == 0 && fread(*bytes, 1, (size_t)n, f) != (size_t)n) {
        rc = rm_error("%s: cannot read: %s", path, ferror(f) ? strerror(errno) : "file shrank while reading");
        free(*bytes);
        *bytes = NULL;
    }
    fclose(f);
    *size = rc == 0 ? (size_t)n : 0;
    return rc;
}

/* Room for `more` constants, so that pointers into g->consts stay valid
 * while a fold adds its outputs. */
static int reserve_consts(onnx_graph *g, int more)
{
    if (g->nconsts + more <= g->cap) return 0;
    int cap = g->cap ? 2 * g->cap : 64;
    while (cap < g->nconsts + more) cap *= 2;
    onnx_const *grown = rm_realloc(g->consts, sizeof *grown * (size_t)cap, "ONNX constants");
    if (!grown) return -1;
    g->consts = grown;
    g->cap = cap;
    return 0;
}

static int add_const(onnx_graph *g, const char *name, int is_int, int ndims, const int64_t *dims, int64_t count,
                     onnx_const **out)
{
    if (ndims < 0 || ndims > ONNX_MAX_DIMS)
        return rm_error("%s: tensor '%s' has %d dimensions (at most %d)", g->path, name, ndims, ONNX_MAX_DIMS);
    if (count < 0 || count > MAX_CONST_VALUES)
        return rm_error("%s: tensor '%s' has %lld values (at most %d)", g->path, name, (long long)count,
                        MAX_CONST_VALUES);
    RM_TRY(reserve_consts(g, 1));
    onnx_const *c = &g->consts[g->nconsts];
    memset(c, 0, sizeof *c);
    c->name = rm_strdup(name);
    c->is_int = is_int;
    c->ndims = ndims;
    for (int d = 0; d < ndims; d++) c->dims[d] = dims[d];
    c->count = count;
    size_t elem = is_int ? sizeof(int64_t) : sizeof(float);
    void *data = rm_malloc(elem * (size_t)(count ? count : 1), "ONNX constant");
    if (!c->name || !data) {
        free(c->name);
        free(data);
        return -1;
    }
    if (is_int) c->i = data;
    else c->f = data;
    g->nconsts++;
    *out = c;
    return 0;
}

static int little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* A TensorProto's values as float (FLOAT, DOUBLE) or int64 (INT64, INT32). */
static int load_tensor(onnx_graph *g, const Onnx__TensorProto *t, const char *name)
{
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return rm_error("%s: tensor '%s' is stored in an external file; export the model with its weights "
                        "inside (torch.onnx.export of a model under 2 GB does)",
                        g->path, name);
    int64_t count = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d] < 0 || (t->dims[d] > 0 && count > MAX_CONST_VALUES / t->dims[d]))
            return rm_error("%s: tensor '%s' has an invalid dimension %lld", g->path, name, (long long)t->dims[d]);
        count *= t->dims[d];
    }
    int type = t->has_data_type ? t->data_type : 0;
    int is_int = type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
    if (!is_int && type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && type != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
        return rm_error("%s: tensor '%s' has ONNX data type %d; float32, float64, int32 and int64 are supported",
                        g->path, name, type);
    size_t elem = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ? 4 : 8;
    size_t have = t->has_raw_data ? t->raw_data.len / elem
                  : type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT  ? t->n_float_data
                  : type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? t->n_double_data
                  : type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64  ? t->n_int64_data
                                                                  : t->n_int32_data;
    if (t->has_raw_data && t->raw_data.len % elem != 0)
        return rm_error("%s: tensor '%s': raw data of %zu bytes is not a whole number of %zu-byte values", g->path,
                        name, t->raw_data.len, elem);
    if ((int64_t)have != count)
        return rm_error("%s: tensor '%s' has %zu values but its dimensions say %lld", g->path, name, have,
                        (long long)count);
    if (t->has_raw_data && !little_endian()) return rm_error("%s: ONNX raw data needs a little-endian host", g->path);
    onnx_const *c;
    RM_TRY(add_const(g, name, is_int, (int)t->n_dims, t->dims, count, &c));
    const uint8_t *raw = t->has_raw_data ? t->raw_data.data : NULL;
    for (int64_t k = 0; k < count; k++) {
        switch (type) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
            if (raw) memcpy(&c->f[k], raw + 4 * k, 4);
            else c->f[k] = t->float_data[k];
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
            double v;
            if (raw) memcpy(&v, raw + 8 * k, 8);
            else v = t->double_data[k];
            c->f[k] = (float)v;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
            if (raw) memcpy(&c->i[k], raw + 8 * k, 8);
            else c->i[k] = t->int64_data[k];
            break;
        default: {
            int32_t v;
            if (raw) memcpy(&v, raw + 4 * k, 4);
            else v = t->int32_data[k];
            c->i[k] = v;
        }
        }
    }
    return 0;
}

int onnx_graph_open(onnx_graph *g, const char *path)
{
    memset(g, 0, sizeof *g);
    g->path = path;
    size_t size = 0;
    RM_TRY(read_file(path, &g->bytes, &size));
    g->model = onnx__model_proto__unpack(NULL, size, g->bytes);
    if (!g->model)
        return rm_error("%s: not an ONNX model (the file is not a valid ModelProto protobuf)", path);
    g->graph = g->model->graph;
    if (!g->graph || g->graph->n_node == 0) return rm_error("%s: the ONNX model has no graph (no nodes)", path);
    g->opset = -1;
    for (size_t i = 0; i < g->model->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = g->model->opset_import[i];
        if ((!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx")) && o->has_version) g->opset = (int)o->version;
    }
    if (g->opset < 0) return rm_error("%s: the model imports no version of the standard ONNX operator set", path);
    if (g->opset < ONNX_MIN_OPSET || g->opset > ONNX_MAX_OPSET)
        return rm_error("%s: ONNX opset %d; relmask imports opsets %d to %d (torch.onnx.export(..., "
                        "opset_version=13) writes one)",
                        path, g->opset, ONNX_MIN_OPSET, ONNX_MAX_OPSET);
    for (size_t i = 0; i < g->graph->n_node; i++)
        if (!g->graph->node[i]->op_type || !g->graph->node[i]->op_type[0])
            return rm_error("%s: node %zu has no operator", path, i);
    for (size_t i = 0; i < g->graph->n_input; i++)
        if (!g->graph->input[i]->name || !g->graph->input[i]->name[0])
            return rm_error("%s: graph input %zu has no name", path, i);
    for (size_t i = 0; i < g->graph->n_output; i++)
        if (!g->graph->output[i]->name || !g->graph->output[i]->name[0])
            return rm_error("%s: graph output %zu has no name", path, i);
    for (size_t i = 0; i < g->graph->n_initializer; i++) {
        const Onnx__TensorProto *t = g->graph->initializer[i];
        if (!t->name || !t->name[0]) return rm_error("%s: initializer %zu has no name", path, i);
        RM_TRY(load_tensor(g, t, t->name));
    }
    return 0;
}

void onnx_graph_close(onnx_graph *g)
{
    for (int i = 0; i < g->nconsts; i++) {
        free(g->consts[i].name);
        free(g->consts[i].f);
        free(g->consts[i].i);
    }
    free(g->consts);
    if (g->model) onnx__model_proto__free_unpacked(g->model, NULL);
    free(g->bytes);
    memset(g, 0, sizeof *g);
}

const onnx_const *onnx_const_find(const onnx_graph *g, const char *name)
{
    if (!name || !name[0]) return NULL;
    for (int i = g->nconsts - 1; i >= 0; i--)
        if (!strcmp(g->consts[i].name, name)) return &g->consts[i];
    return NULL;
}

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && !strcmp(n->attribute[i]->name, name)) return n->attribute[i];
    return NULL;
}

int64_t onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_i ? a->i : def;
}

float onnx_attr_float(const Onnx__NodeProto *n, const char *name, float def)
{
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_f ? a->f : def;
}

const int64_t *onnx_attr_ints(const Onnx__NodeProto *n, const char *name, int *count)
{
    const Onnx__AttributeProto *a = attr(n, name);
    *count = a ? (int)a->n_ints : 0;
    return a ? a->ints : NULL;
}

const char *onnx_attr_string(const Onnx__NodeProto *n, const char *name, char *buf, int size)
{
    const Onnx__AttributeProto *a = attr(n, name);
    if (!a || !a->has_s) return NULL;
    snprintf(buf, (size_t)size, "%.*s", (int)a->s.len, (const char *)a->s.data);
    return buf;
}

/* --- folding ---------------------------------------------------------------- */

static const char *node_label(const Onnx__NodeProto *n, int index, char *buf, size_t size)
{
    snprintf(buf, size, "node %d '%s' (%s)", index, n->name && n->name[0] ? n->name : "?",
             n->op_type ? n->op_type : "?");
    return buf;
}

static int all_inputs_constant(const onnx_graph *g, const Onnx__NodeProto *n)
{
    for (size_t i = 0; i < n->n_input; i++)
        if (n->input[i][0] && !onnx_const_find(g, n->input[i])) return 0;
    return 1;
}

/* The first `count` inputs of n, each named (all_inputs_constant has run, so
 * a named input is a constant); ONNX allows "" for an absent optional input. */
static int require_inputs(const onnx_graph *g, const Onnx__NodeProto *n, size_t count, const char *what)
{
    if (n->n_input < count)
        return rm_error("%s: %s has %zu input%s, expected %zu", g->path, what, n->n_input, n->n_input == 1 ? "" : "s",
                        count);
    for (size_t i = 0; i < count; i++)
        if (!onnx_const_find(g, n->input[i]))
            return rm_error("%s: %s: input %zu is empty, expected a constant", g->path, what, i);
    return 0;
}

static int fold_output_int(onnx_graph *g, const Onnx__NodeProto *n, int ndims, const int64_t *dims, int64_t count,
                           const int64_t *values)
{
    onnx_const *c;
    RM_TRY(add_const(g, n->output[0], 1, ndims, dims, count, &c));
    memcpy(c->i, values, sizeof *values * (size_t)count);
    return 1;
}

/* the axes of Unsqueeze/Squeeze: an attribute before opset 13, an input from 13 */
static int axes_of(onnx_graph *g, const Onnx__NodeProto *n, int64_t *axes, int *naxes, const char *what)
{
    int k = 0;
    const int64_t *a = onnx_attr_ints(n, "axes", &k);
    if (!a && n->n_input > 1) {
        const onnx_const *c = onnx_const_find(g, n->input[1]);
        if (!c || !c->is_int) return rm_error("%s: %s: its axes are not constant integers", g->path, what);
        a = c->i;
        k = (int)c->count;
    }
    if (k > ONNX_MAX_DIMS) return rm_error("%s: %s: %d axes", g->path, what, k);
    for (int i = 0; i < k; i++) axes[i] = a[i];
    *naxes = k;
    return 0;
}

/* out [dims] from x: element (i_0, ..., i_n) is x's flat value
 * sum_d begin[d] + i_d * step[d] (begin and step in x's flat strides). For
 * Slice and Transpose of constants. */
static int fold_gather_nd(onnx_graph *g, const Onnx__NodeProto *n, const onnx_const *x, int ndims,
                          const int64_t *dims, const int64_t *begin, const int64_t *step)
{
    int64_t count = 1, at[ONNX_MAX_DIMS] = {0};
    for (int d = 0; d < ndims; d++) count *= dims[d];
    int is_int = x->is_int;
    onnx_const *c;
    RM_TRY(add_const(g, n->output[0], is_int, ndims, dims, count, &c));
    for (int64_t k = 0; k < count; k++) {
        int64_t src = 0;
        for (int d = 0; d < ndims; d++) src += (begin[d] + at[d] * step[d]);
        if (is_int) c->i[k] = x->i[src];
        else c->f[k] = x->f[src];
        for (int d = ndims - 1; d >= 0 && ++at[d] == dims[d]; d--) at[d] = 0;
    }
    return 1;
}

/* The exporter's arithmetic on pad lists (F.pad at opsets 11 to 17):
 * ConstantOfShape, Reshape, Slice and Transpose of small constants. */
static int fold_shape_ops(onnx_graph *g, const Onnx__NodeProto *n, const char *op, const char *what)
{
    RM_TRY(require_inputs(g, n, 1, what));
    const onnx_const *x = onnx_const_find(g, n->input[0]);
    if (!strcmp(op, "ConstantOfShape")) {
        if (!x->is_int || x->ndims != 1 || x->count > ONNX_MAX_DIMS)
            return rm_error("%s: %s: its shape is not a 1-D integer constant", g->path, what);
        int64_t count = 1, dims[ONNX_MAX_DIMS];
        for (int64_t d = 0; d < x->count; d++) {
            if (x->i[d] < 0 || x->i[d] > 4096)
                return rm_error("%s: %s: dimension %lld", g->path, what, (long long)x->i[d]);
            count *= dims[d] = x->i[d];
        }
        if (count > 4096) return rm_error("%s: %s: more than 4096 values", g->path, what);
        int is_int = 0, ndims = (int)x->count;
        int64_t iv = 0;
        float fv = 0;
        const Onnx__AttributeProto *a = attr(n, "value");
        if (a && a->t) {
            RM_TRY(load_tensor(g, a->t, n->output[0]));
            const onnx_const *v = onnx_const_find(g, n->output[0]);
            if (v->count != 1)
                return rm_error("%s: %s: its value has %lld elements", g->path, what, (long long)v->count);
            is_int = v->is_int, iv = is_int ? v->i[0] : 0, fv = is_int ? 0 : v->f[0];
        }
        onnx_const *c;
        RM_TRY(add_const(g, n->output[0], is_int, ndims, dims, count, &c));
        for (int64_t k = 0; k < count; k++) {
            if (is_int) c->i[k] = iv;
            else c->f[k] = fv;
        }
        return 1;
    }
    if (!strcmp(op, "Reshape")) {
        const onnx_const *s = n->n_input > 1 ? onnx_const_find(g, n->input[1]) : NULL;
        if (!s || !s->is_int || s->count > ONNX_MAX_DIMS) return 0;
        int64_t dims[ONNX_MAX_DIMS], known = 1;
        int free_dim = -1;
        for (int d = 0; d < (int)s->count; d++) {
            dims[d] = s->i[d] == 0 && d < x->ndims ? x->dims[d] : s->i[d];
            if (dims[d] == -1 && free_dim < 0) free_dim = d;
            else if (dims[d] < 0) return rm_error("%s: %s: shape value %lld", g->path, what, (long long)s->i[d]);
            else known *= dims[d];
        }
        if (free_dim >= 0) dims[free_dim] = known ? x->count / known : 0;
        if (free_dim >= 0 ? known == 0 || x->count % known : known != x->count)
            return rm_error("%s: %s: %lld values do not reshape as asked", g->path, what, (long long)x->count);
        onnx_const *c;
        RM_TRY(add_const(g, n->output[0], x->is_int, (int)s->count, dims, x->count, &c));
        if (x->is_int) memcpy(c->i, x->i, sizeof *c->i * (size_t)x->count);
        else memcpy(c->f, x->f, sizeof *c->f * (size_t)x->count);
        return 1;
    }
    int64_t dims[ONNX_MAX_DIMS], begin[ONNX_MAX_DIMS], step[ONNX_MAX_DIMS], stride[ONNX_MAX_DIMS];
    for (int64_t d = x->ndims - 1, s = 1; d >= 0; d--) stride[d] = s, s *= x->dims[d];
    if (!strcmp(op, "Transpose")) {
        int np = 0;
        const int64_t *perm = onnx_attr_ints(n, "perm", &np);
        for (int d = 0; d < x->ndims; d++) {
            int64_t from = perm && np == x->ndims ? perm[d] : x->ndims - 1 - d;
            if (from < 0 || from >= x->ndims) return rm_error("%s: %s: perm %lld", g->path, what, (long long)from);
            dims[d] = x->dims[from], begin[d] = 0, step[d] = stride[from];
        }
        return fold_gather_nd(g, n, x, x->ndims, dims, begin, step);
    }
    /* Slice: starts, ends, axes, steps as inputs (opset 10 on) */
    const onnx_const *in[4] = {0};
    for (int k = 0; k < 4; k++) in[k] = (size_t)k + 1 < n->n_input ? onnx_const_find(g, n->input[k + 1]) : NULL;
    if (!in[0] || !in[1] || !in[0]->is_int || !in[1]->is_int || in[0]->count != in[1]->count ||
        (in[2] && (!in[2]->is_int || in[2]->count != in[0]->count)) ||
        (in[3] && (!in[3]->is_int || in[3]->count != in[0]->count)))
        return rm_error("%s: %s: only a Slice with constant starts, ends, axes and steps is folded", g->path, what);
    for (int d = 0; d < x->ndims; d++) dims[d] = x->dims[d], begin[d] = 0, step[d] = 1;
    for (int64_t k = 0; k < in[0]->count; k++) {
        int64_t axis = in[2] ? in[2]->i[k] : k, st = in[3] ? in[3]->i[k] : 1;
        if (axis < 0) axis += x->ndims;
        if (axis < 0 || axis >= x->ndims || st == 0) return rm_error("%s: %s: axis or step", g->path, what);
        int64_t d = x->dims[axis], a = in[0]->i[k], e = in[1]->i[k];
        if (a < 0) a += d;
        if (e < 0) e += d;
        if (st > 0) {
            a = a < 0 ? 0 : a > d ? d : a, e = e < 0 ? 0 : e > d ? d : e;
            dims[axis] = e > a ? (e - a + st - 1) / st : 0;
        } else {
            a = a < 0 ? 0 : a > d - 1 ? d - 1 : a, e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
            dims[axis] = a > e ? (a - e - st - 1) / -st : 0;
        }
        begin[axis] = a, step[axis] = st;
    }
    for (int d = 0; d < x->ndims; d++) begin[d] *= stride[d], step[d] *= stride[d];
    return fold_gather_nd(g, n, x, x->ndims, dims, begin, step);
}

int onnx_fold(onnx_graph *g, const Onnx__NodeProto *n, int index, const onnx_data_shape *data)
{
    char what[512];
    node_label(n, index, what, sizeof what);
    const char *op = n->op_type ? n->op_type : "";
    if (n->n_output < 1 || !n->output[0][0]) return 0;
    RM_TRY(reserve_consts(g, 2));   /* a fold adds at most two: ConstantOfShape's value and its output */
    if (!strcmp(op, "Constant")) {
        for (size_t i = 0; i < n->n_attribute; i++) {
            const Onnx__AttributeProto *a = n->attribute[i];
            if (a->t) {
                RM_TRY(load_tensor(g, a->t, n->output[0]));
                return 1;
            }
            if (a->has_i) return fold_output_int(g, n, 0, NULL, 1, &a->i);
            if (a->n_ints) {
                int64_t dims[1] = {(int64_t)a->n_ints};
                return fold_output_int(g, n, 1, dims, (int64_t)a->n_ints, a->ints);
            }
            if (a->has_f || a->n_floats) {
                onnx_const *c;
                int64_t dims[1] = {(int64_t)a->n_floats};
                RM_TRY(add_const(g, n->output[0], 0, a->has_f ? 0 : 1, dims, a->has_f ? 1 : (int64_t)a->n_floats, &c));
                if (a->has_f) c->f[0] = a->f;
                else memcpy(c->f, a->floats, sizeof(float) * a->n_floats);
                return 1;
            }
        }
        return rm_error("%s: %s has no value this importer reads (tensor, ints or floats)", g->path, what);
    }
    if (!strcmp(op, "Shape")) {
        if (n->n_input < 1 || !data || !data->name || strcmp(n->input[0], data->name)) {
            const onnx_const *c = n->n_input ? onnx_const_find(g, n->input[0]) : NULL;
            if (!c) return 0;
            int64_t dims[1] = {c->ndims};
            return fold_output_int(g, n, 1, dims, c->ndims, c->dims);
        }
        int64_t dims[1] = {data->ndims}, values[4];
        for (int d = 0; d < data->ndims; d++) values[d] = data->dims[d];
        int64_t start = onnx_attr_int(n, "start", 0), end = onnx_attr_int(n, "end", data->ndims);
        if (start < 0) start += data->ndims;
        if (end < 0) end += data->ndims;
        if (start < 0 || end > data->ndims || start > end)
            return rm_error("%s: %s: start %lld / end %lld outside the %d dimensions", g->path, what,
                            (long long)start, (long long)end, data->ndims);
        dims[0] = end - start;
        return fold_output_int(g, n, 1, dims, end - start, values + start);
    }
    if (!all_inputs_constant(g, n)) return 0;
    if (!strcmp(op, "Gather")) {
        RM_TRY(require_inputs(g, n, 2, what));
        const onnx_const *x = onnx_const_find(g, n->input[0]), *ix = onnx_const_find(g, n->input[1]);
        if (!x->is_int || x->ndims != 1 || !ix->is_int || ix->ndims > 1 || onnx_attr_int(n, "axis", 0) != 0)
            return rm_error("%s: %s: only gathers from a 1-D integer constant (a shape) are folded", g->path, what);
        int64_t out[ONNX_MAX_DIMS * 8];
        if (ix->count > (int64_t)(sizeof out / sizeof out[0])) return rm_error("%s: %s: too many indices", g->path, what);
        for (int64_t k = 0; k < ix->count; k++) {
            int64_t j = ix->i[k] < 0 ? ix->i[k] + x->count : ix->i[k];
            if (j < 0 || j >= x->count)
                return rm_error("%s: %s: index %lld outside 0..%lld", g->path, what, (long long)ix->i[k],
                                (long long)x->count - 1);
            out[k] = x->i[j];
        }
        return fold_output_int(g, n, ix->ndims, ix->dims, ix->count, out);
    }
    if (!strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze")) {
        RM_TRY(require_inputs(g, n, 1, what));
        const onnx_const *x = onnx_const_find(g, n->input[0]);
        int64_t axes[ONNX_MAX_DIMS];
        int naxes = 0;
        RM_TRY(axes_of(g, n, axes, &naxes, what));
        int64_t dims[ONNX_MAX_DIMS];
        int nd = 0;
        int out_nd = op[0] == 'U' ? x->ndims + naxes : x->ndims;
        if (out_nd > ONNX_MAX_DIMS) return rm_error("%s: %s: %d dimensions", g->path, what, out_nd);
        int marked[ONNX_MAX_DIMS] = {0};
        for (int a = 0; a < naxes; a++) {
            int64_t axis = axes[a] < 0 ? axes[a] + out_nd : axes[a];
            if (axis < 0 || axis >= out_nd || marked[axis] || (op[0] == 'S' && x->dims[axis] != 1))
                return rm_error("%s: %s: axis %lld is out of range, repeated or not of size 1 (%d dimensions)",
                                g->path, what, (long long)axes[a], out_nd);
            marked[axis] = 1;
        }
        for (int d = 0, src = 0; d < out_nd; d++) {
            if (op[0] == 'U') dims[nd++] = marked[d] ? 1 : x->dims[src++];
            else if (!(naxes ? marked[d] : x->dims[d] == 1)) dims[nd++] = x->dims[d];
        }
        onnx_const *c;
        RM_TRY(add_const(g, n->output[0], x->is_int, nd, dims, x->count, &c));
        if (x->is_int) memcpy(c->i, x->i, sizeof *c->i * (size_t)x->count);
        else memcpy(c->f, x->f, sizeof *c->f * (size_t)x->count);
        return 1;
    }
    if (!strcmp(op, "Concat")) {
        RM_TRY(require_inputs(g, n, n->n_input ? n->n_input : 1, what));
        int64_t out[64], total = 0;
        for (size_t k = 0; k < n->n_input; k++) {
            const onnx_const *x = onnx_const_find(g, n->input[k]);
            if (!x->is_int || x->ndims > 1)
                return rm_error("%s: %s: only concatenations of 1-D integer constants (shapes) are folded", g->path,
                                what);
            if (total + x->count > 64) return rm_error("%s: %s: more than 64 values", g->path, what);
            memcpy(out + total, x->i, sizeof *out * (size_t)x->count);
            total += x->count;
        }
        int64_t dims[1] = {total};
        return fold_output_int(g, n, 1, dims, total, out);
    }
    if (!strcmp(op, "Cast")) {
        RM_TRY(require_inputs(g, n, 1, what));
        const onnx_const *x = onnx_const_find(g, n->input[0]);
        int64_t to = onnx_attr_int(n, "to", 0);
        int to_int = to == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || to == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
        onnx_const *c;
        RM_TRY(add_const(g, n->output[0], to_int, x->ndims, x->dims, x->count, &c));
        for (int64_t k = 0; k < x->count; k++) {
            if (to_int) c->i[k] = x->is_int ? x->i[k] : (int64_t)x->f[k];
            else c->f[k] = x->is_int ? (float)x->i[k] : x->f[k];
        }
        return 1;
    }
    if (!strcmp(op, "ConstantOfShape") || !strcmp(op, "Reshape") || !strcmp(op, "Transpose") ||
        (!strcmp(op, "Slice") && g->opset >= 10))
        return fold_shape_ops(g, n, op, what);
    static const char *const arith[] = {"Add", "Sub", "Mul", "Div"};
    for (int o = 0; o < 4; o++) {
        if (strcmp(op, arith[o])) continue;
        RM_TRY(require_inputs(g, n, 2, what));
        const onnx_const *a = onnx_const_find(g, n->input[0]), *b = onnx_const_find(g, n->input[1]);
        if (!a->is_int || !b->is_int || (a->count != b->count && a->count != 1 && b->count != 1)) return 0;
        /* broadcasting: the output has the larger count and, at equal counts, the more dimensions */
        const onnx_const *big = a->count > b->count || (a->count == b->count && a->ndims >= b->ndims) ? a : b;
        int64_t out[64];
        if (big->count > 64) return 0;
        for (int64_t k = 0; k < big->count; k++) {
            int64_t x = a->i[a->count == 1 ? 0 : k], y = b->i[b->count == 1 ? 0 : k];
            if (o == 3 && y == 0) return rm_error("%s: %s: integer division by zero", g->path, what);
            out[k] = o == 0 ? x + y : o == 1 ? x - y : o == 2 ? x * y : x / y;
        }
        return fold_output_int(g, n, big->ndims, big->dims, big->count, out);
    }
    return 0;
}
