#ifndef RELMASK_VERSION_H
#define RELMASK_VERSION_H

/* "relmask 0.1.0 (git abc1234)" */
const char *rm_version_string(void);

#endif
