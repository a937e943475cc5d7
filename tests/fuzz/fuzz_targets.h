/* Every fuzz target: tests/fuzz/fuzz_<name>.c defines fuzz_<name>, its seed
 * corpus is tests/fuzz/corpus/<name>/ and the inputs that once crashed it
 * are kept in tests/fuzz/regressions/<name>/. */
#ifndef RELMASK_FUZZ_TARGETS_H
#define RELMASK_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_TARGETS(X)                                                                            \
    X(fer2013_csv) X(idx) X(npy) X(relevance_npy) X(image) X(netdef) X(json) X(fixations)          \
    X(names_csv) X(class_map) X(h5schema) X(onnx) X(tfjs)

#define FUZZ_DECLARE(name) int fuzz_##name(const uint8_t *data, size_t size);
FUZZ_TARGETS(FUZZ_DECLARE)
#undef FUZZ_DECLARE

#endif
