#include "core/resume_command.h"

#include <string.h>

#include "core/textio.h"

/* The end of the shell word starting at p: the first space outside single
 * quotes (a backslash outside quotes escapes the next byte). */
static const char *word_end(const char *p)
{
    int quoted = 0;
    for (; *p && (quoted || *p != ' '); p++) {
        if (*p == '\'') quoted = !quoted;
        else if (*p == '\\' && !quoted && p[1]) p++;
    }
    return p;
}

static int word_is(const char *w, size_t n, const char *text) { return n == strlen(text) && !memcmp(w, text, n); }

void rm_resume_command(char *out, size_t size, const char *command_line)
{
    size_t used = 0;
    if (size) out[0] = 0;
    int has_resume = 0, skip_next = 0;
    for (const char *p = command_line; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        const char *end = word_end(p);
        size_t n = (size_t)(end - p);
        int drop = skip_next || word_is(p, n, "--stop-after") || (n > 13 && !memcmp(p, "--stop-after=", 13));
        skip_next = word_is(p, n, "--stop-after");
        has_resume |= word_is(p, n, "--resume");
        if (!drop) {
            if (used) rm_text_append(out, &used, size, " ", 1);
            rm_text_append(out, &used, size, p, n);
        }
        p = end;
    }
    if (!has_resume) rm_text_append(out, &used, size, used ? " --resume" : "--resume", used ? 9 : 8);
}
