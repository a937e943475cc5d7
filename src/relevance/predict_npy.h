/* The other side of --predict-cmd (predict_npy.c): a relmask model as an
 * external model, NPY images in, NPY class probabilities out, so
 * `relmask predict --npy-in/--npy-out` can itself be the command
 * (docs/relevance.md, "External models (--predict-cmd)"). */
#ifndef RELMASK_PREDICT_NPY_H
#define RELMASK_PREDICT_NPY_H

typedef struct {
    const char *model_path;
    const char *in_path;     /* uint8 raw pixels (n, C, H, W), or (n, H, W) for one channel */
    const char *out_path;    /* float32 probabilities (n, K) */
    int batch;               /* images per forward pass (256) */
    int force;               /* overwrite an existing out_path */
} rm_predict_npy_config;

void rm_predict_npy_config_defaults(rm_predict_npy_config *cfg);
/* Runs the model as rm_predictor_from_model does (occlusion.h) and writes
 * out_path atomically; logs "<out>: N predictions". */
int rm_predict_npy(const rm_predict_npy_config *cfg);

#endif
