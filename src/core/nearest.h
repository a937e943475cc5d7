/* "Did you mean": the nearest of a list of names to a mistyped word, for
 * commands, options (src/cli) and values such as class names. */
#ifndef RELMASK_NEAREST_H
#define RELMASK_NEAREST_H

/* Levenshtein distance of two short strings (capped at 9). */
int rm_edit_distance(const char *a, const char *b);
/* The name nearest to `word`: at most two edits away, or one that `word`
 * (3 letters or more) begins; NULL if none. */
const char *rm_nearest_name(const char *word, const char *const *names, int n);

#endif
