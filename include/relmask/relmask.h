/* relmask: the one header a program embedding relmask includes (compile
 * with -I<relmask>/include -I<relmask>/src, link build/librelmask.a).
 * Each stage is a library call declared beside its code under src/<stage>/;
 * docs/architecture.md draws the folders and what may include what. */
#ifndef RELMASK_RELMASK_H
#define RELMASK_RELMASK_H

#include "core/error.h"          /* the error contract: 0 / -1 and rm_error_message() */
#include "core/dataset.h"        /* reading dataset files */
#include "core/relevance_file.h" /* reading relevance files */
#include "ingest/synth.h"        /* stage synth (and the face renderer) */
#include "ingest/ingest.h"       /* stage ingest */
#include "ingest/subset.h"       /* stage subset */
#include "train/train.h"         /* stage train */
#include "train/eval.h"          /* stage eval */
#include "train/predict.h"       /* stage predict */
#include "relevance/relevance.h" /* stage relevance: a relevance file by LRP or occlusion */
#include "relevance/lrp.h"       /* the LRP engine */
#include "relevance/occlusion.h" /* occlusion for any model */
#include "relevance/import.h"    /* stage relevance-import */
#include "relevance/predict_npy.h" /* predict --npy-in: a model behind --predict-cmd */
#include "relevance/quality.h"   /* relevance-eval's metrics */
#include "relevance/relevance_eval.h" /* stage relevance-eval */
#include "encode/encode.h"       /* stage encode */
#include "report/heatmap.h"      /* stage heatmap */
#include "report/report.h"       /* stage report */

#endif
