#include "core/version.h"

#ifndef RELMASK_VERSION
#define RELMASK_VERSION "0.0.0"
#endif
#ifndef RELMASK_GIT_REV
#define RELMASK_GIT_REV "unknown"
#endif

const char *rm_version_string(void) { return "relmask " RELMASK_VERSION " (git " RELMASK_GIT_REV ")"; }
