/* The command that continues an interrupted or stopped run. */
#ifndef RELMASK_RESUME_COMMAND_H
#define RELMASK_RESUME_COMMAND_H

#include <stddef.h>

/* command_line is a run's recorded command (shell words, single-quoted
 * where needed, as the CLI records it). Writes to out (size bytes,
 * NUL-terminated, cut if it does not fit) the same command without
 * --stop-after N (which would stop the continued run again) and with
 * --resume, unless it has it already. */
void rm_resume_command(char *out, size_t size, const char *command_line);

#endif
