/* Progress lines: the rate of a resumed run counts only its own work. */
#include <criterion/criterion.h>

#include "core/progress.h"

/* relevance --resume after 128 of 420 records printed "128/420 img (30%),
 * 34215450 img/s": the records of the earlier run were counted as done in
 * the first microseconds of this one. */
Test(progress, resumed_run_rate_counts_only_this_runs_work)
{
    rm_progress p;
    rm_progress_set_quiet(1);
    rm_progress_start(&p, "relevance", "img", 420);
    rm_progress_resume(&p, 128);
    cr_assert_eq(p.done, 128);
    p.start = rm_now() - 2.0;   /* two seconds into this run */
    double now = p.start + 2.0;
    cr_assert_eq(rm_progress_rate(&p, now), 0, "nothing done yet in this run");
    rm_progress_update(&p, 148);
    double rate = rm_progress_rate(&p, now);
    cr_assert(rate > 9.99 && rate < 10.01, "20 records in 2 s: %g img/s", rate);
    /* A run that did not resume counts from zero as before. */
    rm_progress_start(&p, "relevance", "img", 420);
    p.start = rm_now() - 2.0;
    rm_progress_update(&p, 20);
    rate = rm_progress_rate(&p, p.start + 2.0);
    cr_assert(rate > 9.99 && rate < 10.01, "%g", rate);
}
