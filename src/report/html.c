/* html.c: the report as one self-contained HTML page (`caviar report
 * --html`, `caviar watch --html`; see cv_report_html in caviar/report.h).
 *
 * The page holds what the text report and the figures hold, in the same
 * order as the text: the study and its provenance, the leaderboard (every
 * trial, sortable by any column), what matters, each parameter's effect
 * (its figure and its bins), the learning curves, parallel coordinates,
 * the coarse-to-fine rounds, successive halving's rungs, and the suggested
 * next region. Sections and figures are the text's and svg.c's own
 * (report_int.h): this file only lays them out. Nothing in the page points
 * outside it: the figures are inline SVG, the style and the few lines of
 * script (sorting, copying) are in the page, and every string that comes
 * from the results file is escaped. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report_int.h"

#ifndef CAVIAR_VERSION
#define CAVIAR_VERSION "unknown"
#endif

/* The style: one column of sections; tables with a sticky heading; in
 * print, no navigation or buttons, the leaderboard's top rows only,
 * figures kept whole on a page. */
static const char page_css[] =
    "body{font:15px/1.45 \"DejaVu Sans\",Helvetica,Arial,sans-serif;color:#1a1a1a;"
    "background:#fff;max-width:1120px;margin:0 auto;padding:0 16px 40px}\n"
    "h1{font-size:1.6em;margin:.7em 0 .2em}h2{font-size:1.25em;border-bottom:1px solid #bbb;"
    "margin-top:1.8em}h3{font-size:1.05em;margin:1.4em 0 .3em}\n"
    "nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.2em 1.2em}\n"
    "a{color:#0b57a4}\n"
    ".lines{white-space:pre-line}\n"
    "table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums;"
    "margin:.4em 0}\n"
    "caption{caption-side:top;text-align:left;color:#444;padding:4px 0}\n"
    "th,td{padding:2px 8px;text-align:right;border-bottom:1px solid #e4e4e4;white-space:nowrap}\n"
    "th[scope=row],td:last-child{text-align:left}\n"
    ".scroll{max-height:34em;overflow:auto;border:1px solid #ccc}\n"
    ".scroll thead th{position:sticky;top:0;background:#f2f2f2}\n"
    "th button{font:inherit;font-weight:bold;color:inherit;background:none;border:0;padding:0;"
    "cursor:pointer}\n"
    "th button:focus-visible,button:focus-visible{outline:2px solid #0b57a4}\n"
    "th[aria-sort=ascending] button::after{content:\" \\25B2\"}\n"
    "th[aria-sort=descending] button::after{content:\" \\25BC\"}\n"
    "tr.best td{font-weight:bold}\n"
    "figure{margin:.6em 0}figcaption{color:#444;font-size:13px}\n"
    "svg.fig{display:block;max-width:100%;height:auto}\n"
    "svg.bar{vertical-align:middle}\n"
    "pre{background:#f5f5f5;border:1px solid #ccc;padding:8px;overflow:auto;font-size:13px}\n"
    ".copy{font:inherit;padding:3px 12px}\n"
    "progress{width:16em;vertical-align:middle}\n"
    ".live{border-left:4px solid #ff7f0e;padding-left:8px}\n"
    "footer{margin-top:3em;color:#555;font-size:13px}\n"
    /* sections below the first screen are laid out when they come into view:
     * a page of a thousand trials opens at once */
    "section.param,#curves,#parallel{content-visibility:auto;contain-intrinsic-size:auto 700px}\n"
    "@media print{body{max-width:none;font-size:11px;padding:0}nav,button,.noprint{display:none}"
    ".scroll{max-height:none;overflow:visible;border:0}tr.more{display:none}"
    "figure,table,pre{break-inside:avoid}h2,h3{break-after:avoid}a{color:inherit;"
    "text-decoration:none}}\n";

/* The script: a leaderboard sorted by the column whose heading is clicked
 * (numbers as numbers, "-" last either way; again: reversed), kept across
 * the reloads of a watched page (sessionStorage: this tab, this page); the region
 * copied by its button; closed details opened for print. */
static const char page_js[] =
    "(function(){\n"
    "var t=document.getElementById('board');\n"
    "if(t){var hs=t.tHead.rows[0].cells,body=t.tBodies[0],key='caviar-sort:'+location.pathname;\n"
    "Array.prototype.forEach.call(body.rows,function(r,i){r.dataset.i=i;});\n"
    "var sortBy=function(c,up){\n"
    " var rows=Array.prototype.slice.call(body.rows);\n"
    " var text=function(r){return r.cells[c].textContent;};\n"
    " var num=rows.every(function(r){var s=text(r);return s==='-'||!isNaN(Number(s));});\n"
    " rows.sort(function(a,b){var x=text(a),y=text(b),d;\n"
    "  if(x==='-'||y==='-')d=(x==='-')-(y==='-');\n"
    "  else{d=num?Number(x)-Number(y):x.localeCompare(y);if(!up)d=-d;}\n"
    "  return d||a.dataset.i-b.dataset.i;});\n"
    " rows.forEach(function(r){body.appendChild(r);});\n"
    " Array.prototype.forEach.call(hs,function(h){h.removeAttribute('aria-sort');});\n"
    " hs[c].setAttribute('aria-sort',up?'ascending':'descending');\n"
    " try{sessionStorage.setItem(key,JSON.stringify([hs[c].textContent,up]));}catch(e){}};\n"
    "Array.prototype.forEach.call(hs,function(h,c){\n"
    " h.querySelector('button').addEventListener('click',function(){\n"
    "  sortBy(c,h.getAttribute('aria-sort')!=='ascending');});});\n"
    "try{var kept=JSON.parse(sessionStorage.getItem(key));\n"
    " Array.prototype.forEach.call(hs,function(h,c){\n"
    "  if(kept&&h.textContent===kept[0])sortBy(c,kept[1]);});\n"
    "}catch(e){}}\n"
    "var b=document.getElementById('copy'),pre=document.getElementById('region');\n"
    "if(b&&pre){var said=document.getElementById('copied');\n"
    "var done=function(ok){said.textContent=ok?'copied':'select the block and copy it';};\n"
    "var fallback=function(){var r=document.createRange();r.selectNodeContents(pre);\n"
    " var s=window.getSelection();s.removeAllRanges();s.addRange(r);\n"
    " var ok=false;try{ok=document.execCommand('copy');}catch(e){}done(ok);};\n"
    "b.addEventListener('click',function(){\n"
    " if(navigator.clipboard&&window.isSecureContext)\n"
    "  navigator.clipboard.writeText(pre.textContent).then(function(){done(true);},fallback);\n"
    " else fallback();});}\n"
    "window.addEventListener('beforeprint',function(){\n"
    " Array.prototype.forEach.call(document.querySelectorAll('details'),function(d){\n"
    "  d.open=true;});});\n"
    "})();\n";

/* ---- writing -------------------------------------------------------------------- */

/* What write(f, st) prints, escaped, between open and close. */
static int put_captured(FILE *out, const char *open, void (*write)(FILE *, const cv_study *),
                        const cv_study *st, const char *close, cv_error *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (m == NULL)
        return cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for the page", st->path);
    write(m, st);
    if (fclose(m) != 0 || text == NULL) {
        free(text);
        return cv_fail(err, CV_ERR_NOMEM, "%s: out of memory for the page", st->path);
    }
    while (len > 0 && text[len - 1] == '\n')
        text[--len] = '\0';
    fputs(open, out);
    cv_report_put_escaped(out, text);
    fputs(close, out);
    free(text);
    return 0;
}

/* <tag>s</tag>, s escaped; extra attributes of the opening tag or "". */
static void element(FILE *out, const char *tag, const char *attrs, const char *s)
{
    fprintf(out, "<%s%s%s>", tag, attrs[0] ? " " : "", attrs);
    cv_report_put_escaped(out, s);
    fprintf(out, "</%s>", tag);
}

/* ---- sections ------------------------------------------------------------------ */

static int put_summary(FILE *out, const cv_study *st, cv_error *err)
{
    cv_report_counts c;
    cv_report_count(st, &c);
    int64_t finished = c.done + c.diverged + c.failed;
    int rc;
    fputs("<section id=\"summary\">\n<h2>The study</h2>\n", out);
    if ((rc = put_captured(out, "<p>", cv_report_describe, st, "</p>\n", err)) != 0)
        return rc;
    fprintf(out, "<p%s><progress aria-label=\"trials finished\" value=\"%lld\" max=\"%lld\">"
                 "</progress> %lld of %lld trials finished%s</p>\n",
            st->live ? " class=\"live\"" : "", (long long)finished,
            (long long)(st->planned > 0 ? st->planned : 1), (long long)finished,
            (long long)st->planned, st->live ? "; the study is running" : "");
    const char *lines = "<p class=\"lines\">";
    if ((rc = put_captured(out, lines, cv_report_status, st, "</p>\n", err)) != 0 ||
        (rc = put_captured(out, lines, cv_report_provenance, st, "</p>\n", err)) != 0)
        return rc;
    if (st->job.text != NULL) {
        fputs("<details><summary>The job file", out);
        if (st->job.path != NULL) {
            fputs(" (", out);
            cv_report_put_escaped(out, st->job.path);
            fputc(')', out);
        }
        fputs("</summary>\n", out);
        element(out, "pre", "", st->job.text);
        fputs("</details>\n", out);
    }
    fputs("</section>\n", out);
    return 0;
}

/* Every trial, best first; the first top rows are what print shows. */
static void put_leaderboard(FILE *out, const cv_study *st, const int64_t *order, int top)
{
    int cols = cv_report_board_columns(st);
    fprintf(out, "<section id=\"leaderboard\">\n<h2>Leaderboard</h2>\n<div class=\"scroll\">"
                 "<table id=\"board\">\n<caption>All %lld trials, best first by %s. Select a "
                 "column's heading to sort by it, again to reverse; printed: the best %d."
                 "</caption>\n"
                 "<thead><tr>",
            (long long)st->n_rows, cv_report_metric_name(st), top);
    for (int col = 0; col < cols; col++) {
        fputs(col == 0 ? "<th scope=\"col\" aria-sort=\"ascending\">" : "<th scope=\"col\">", out);
        element(out, "button", "type=\"button\"", cv_report_board_heading(st, col));
        fputs("</th>", out);
    }
    fputs("</tr></thead>\n<tbody>\n", out);
    for (int64_t i = 0; i < st->n_rows; i++) {
        fputs(i == 0 ? "<tr class=\"best\">" : i >= top ? "<tr class=\"more\">" : "<tr>", out);
        for (int col = 0; col < cols; col++) {
            char s[64];
            cv_report_board_cell(st, col, &st->rows[order[i]], i + 1, s, sizeof s);
            element(out, "td", "", s);
        }
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table></div>\n</section>\n", out);
}

/* What matters: importance against chance, as numbers and as bars. */
static void put_importance(FILE *out, const cv_study *st, const cv_report_effect *e, int n)
{
    int counted = 0;
    for (int64_t i = 0; i < st->n_rows; i++)
        counted += !isnan(cv_study_metric(st, &st->rows[i]));
    fprintf(out, "<section id=\"importance\">\n<h2>What matters</h2>\n<table>\n<caption>The share "
                 "of %s's variance (over %d trials) explained by each parameter's bins alone; "
                 "noise alone explains about the chance column (the bar's tick).</caption>\n"
                 "<thead><tr><th scope=\"col\">parameter</th><th scope=\"col\">importance</th>"
                 "<th scope=\"col\">chance</th><th scope=\"col\">share of the variance</th></tr>"
                 "</thead>\n<tbody>\n",
            cv_report_metric_name(st), counted);
    const double W = 240;
    for (int k = 0; k < n; k++) {
        fputs("<tr>", out);
        element(out, "th", "scope=\"row\"", cv_param_get_info(e[k].param)->name);
        if (!isfinite(e[k].importance)) {
            fputs("<td>-</td><td>-</td><td></td></tr>\n", out);
            continue;
        }
        fprintf(out, "<td>%.1f%%</td><td>%.1f%%</td><td><svg class=\"bar\" width=\"%.0f\" "
                     "height=\"14\" viewBox=\"0 0 %.0f 14\"><title>importance %.1f%% (chance "
                     "%.1f%%)</title><rect width=\"%.0f\" height=\"14\" fill=\"#eee\"/>"
                     "<rect width=\"%.1f\" height=\"14\" fill=\"#1f77b4\"/><path d=\"M%.1f 0v14\" "
                     "stroke=\"#000\" stroke-width=\"2\"/></svg></td></tr>\n",
                100 * e[k].importance, 100 * e[k].chance, W, W, 100 * e[k].importance,
                100 * e[k].chance, W, W * e[k].importance, fmin(W - 1, fmax(1, W * e[k].chance)));
    }
    fputs("</tbody></table>\n</section>\n", out);
}

/* Each parameter, most important first: its figure, then its bins. */
static void put_effects(FILE *out, const cv_report_figs *fg, const cv_report_effect *e, int n,
                        double best)
{
    const cv_study *st = fg->st;
    const char *metric = cv_report_metric_name(st);
    fprintf(out, "<section id=\"effects\">\n<h2>How %s depends on each parameter</h2>\n<p>Each "
                 "figure puts the parameter on its own scale (log scales as log axes; "
                 "one_minus_log_uniform as a log axis of 1 &#8722; x), one mark per trial "
                 "(rounds by colour and shape, the best ringed, a cross for a trial without a "
                 "%s); the bars under the axis are each round's region. Hover a mark to name its "
                 "trial. The tables bin the parameter on the same scale; near: the bin's trials "
                 "within 1%% of the best (%s %.4f).</p>\n",
            metric, metric, st->metric == CV_METRIC_DEV_LOSS ? "&lt;=" : "&gt;=",
            cv_report_near_threshold(st->metric, best));
    for (int k = 0; k < n; k++) {
        const cv_report_effect *f = &e[k];
        char title[160], cell[96], note[128];
        fputs("<section class=\"param\">\n", out);
        element(out, "h3", "", cv_param_get_info(f->param)->name);
        fputs("\n<figure>\n", out);
        cv_report_fig_param(fg, cv_space_dim_of(st->space, f->param), out, note, sizeof note);
        fputs("</figure>\n<table>\n", out);
        cv_report_effect_title(st, f, title, sizeof title);
        element(out, "caption", "", title);
        fputs("\n<thead><tr>", out);
        int cols = cv_report_effect_columns(st, f);
        for (int col = 0; col < cols; col++)
            element(out, "th", "scope=\"col\"", cv_report_effect_heading(f, col));
        fputs("</tr></thead>\n<tbody>\n", out);
        for (int b = 0; b < f->n_bins; b++) {
            fputs("<tr>", out);
            for (int col = 0; col < cols; col++) {
                cv_report_effect_cell(st, f, b, col, cell, sizeof cell);
                element(out, col == 0 ? "th" : "td", col == 0 ? "scope=\"row\"" : "", cell);
            }
            fputs("</tr>\n", out);
        }
        fputs("</tbody></table>\n</section>\n", out);
    }
    fputs("</section>\n", out);
}

static int put_figures(FILE *out, const cv_report_figs *fg, cv_error *err)
{
    char note[128];
    fputs("<section id=\"curves\">\n<h2>Learning curves</h2>\n<figure>\n", out);
    int rc = cv_report_fig_curves(fg, out, note, sizeof note, err);
    if (rc != 0)
        return rc;
    fprintf(out, "<figcaption>Dev (solid) and train (dashed) accuracy and loss per epoch of the "
                 "best %d trials, each labelled by its rank at its end%s.</figcaption>\n</figure>\n"
                 "</section>\n",
            fg->top,
            fg->st->job.search.schedule == CV_SCHEDULE_PBT
                ? "; grey: the dev curves of trials population-based training replaced, each "
                  "ending in a cross where its member was exploited"
            : fg->st->job.search.schedule != CV_SCHEDULE_FULL
                ? "; grey: the dev curves of trials successive halving stopped, each ending in "
                  "a cross"
                : "");
    if (cv_space_dims(fg->st->space) == 0)
        return 0;
    fputs("<section id=\"parallel\">\n<h2>Parallel coordinates</h2>\n<figure>\n", out);
    cv_report_fig_parallel(fg, out, note, sizeof note);
    fputs("<figcaption>One line per trial across every searched parameter, each on its own "
          "scale, to the metric; the colour follows the metric (brighter is better), the best "
          "dashed.</figcaption>\n</figure>\n</section>\n",
          out);
    return 0;
}

/* The coarse-to-fine table: a column per round. */
static void put_rounds(FILE *out, const cv_study *st)
{
    int rows = cv_report_rounds_rows(st);
    if (rows == 0)
        return;
    fputs("<section id=\"rounds\">\n<h2>Coarse to fine</h2>\n<table>\n<caption>Each round's "
          "region and what it found.</caption>\n",
          out);
    for (int row = 0; row < rows; row++) {
        fputs(row == 0 ? "<thead><tr>" : "<tr>", out);
        element(out, "th", row == 0 ? "scope=\"col\"" : "scope=\"row\"",
                cv_report_rounds_label(st, row));
        for (int64_t r = 0; r < st->n_rounds; r++) {
            char s[160];
            cv_report_rounds_cell(st, row, r, s, sizeof s);
            element(out, row == 0 ? "th" : "td", row == 0 ? "scope=\"col\"" : "", s);
        }
        fputs(row == 0 ? "</tr></thead>\n<tbody>\n" : "</tr>\n", out);
    }
    fputs("</tbody></table>\n</section>\n", out);
}

/* Population-based training: the population's figure, then the
 * generations and the best member's schedule as the text report has them. */
static int put_pbt(FILE *out, const cv_report_figs *fg, cv_error *err)
{
    char note[128];
    fputs("<section id=\"pbt\">\n<h2>Population-based training</h2>\n<figure>\n", out);
    if (cv_report_fig_pbt(fg, out, note, sizeof note))
        fputs("<figcaption>Each member's explored parameter (top) and metric (bottom) over the "
              "epochs, across the trials it went through; a triangle marks an exploit (the "
              "member copied a top member's state and explored its hyperparameters); black: "
              "the best member. Hover a line or a triangle for what happened.</figcaption>\n",
              out);
    fputs("</figure>\n", out);
    int rc = put_captured(out, "<pre class=\"schedule\">", cv_report_pbt, fg->st, "</pre>\n",
                          err);
    fputs("</section>\n", out);
    return rc;
}

/* Successive halving: where the trials ended, by budget. */
static void put_halving(FILE *out, const cv_study *st)
{
    cv_report_halving_info h;
    if (!cv_report_halving(st, &h))
        return;
    fputs("<section id=\"halving\">\n<h2>Successive halving</h2>\n<table>\n<caption>", out);
    cv_report_halving_title(out, st, &h);
    fputs("</caption>\n<thead><tr><th scope=\"col\">budget (epochs)</th><th scope=\"col\">ended "
          "there</th><th scope=\"col\">trained beyond</th><th scope=\"col\">best there</th></tr>"
          "</thead>\n<tbody>\n",
          out);
    for (int k = 0; k < h.n; k++) {
        char bs[16] = "-";
        if (isfinite(h.rungs[k].best))
            snprintf(bs, sizeof bs, "%.4f", h.rungs[k].best);
        fprintf(out, "<tr><th scope=\"row\">%d</th><td>%lld</td><td>%lld</td><td>%s</td></tr>\n",
                h.rungs[k].budget, (long long)h.rungs[k].ended, (long long)h.rungs[k].beyond, bs);
    }
    fputs("</tbody></table>\n<p>", out);
    cv_report_halving_saved(out, st, &h);
    fputs(".</p>\n</section>\n", out);
}

static void put_region(FILE *out, const cv_study *st, const char *yaml, int n_best,
                       int64_t ranked)
{
    fprintf(out, "<section id=\"next\">\n<h2>Suggested next region</h2>\n<p>Where the best %d of "
                 "%lld trials by %s landed, on each parameter's own scale, widened by %.0f%% of "
                 "its width: paste it into the next job file.</p>\n",
            n_best, (long long)ranked, cv_report_metric_name(st), 100 * CV_SPACE_MARGIN);
    element(out, "pre", "id=\"region\"", yaml);
    fputs("\n<p><button type=\"button\" class=\"copy\" id=\"copy\">Copy the region</button> "
          "<span id=\"copied\" role=\"status\"></span></p>\n</section>\n",
          out);
}

/* ---- the page ------------------------------------------------------------------- */

int cv_report_html(FILE *out, const cv_study *st, int top, int refresh, cv_error *err)
{
    cv_report_figs fg = {0};
    cv_report_effect *effects = NULL;
    int n_effects = 0;
    char *yaml = NULL;
    int n_best = 0;
    int rc = cv_report_figs_init(&fg, st, top, true, err);
    if (rc != 0)
        return rc;
    if (fg.n > 0 && ((rc = cv_report_effects(st, &effects, &n_effects, err)) != 0 ||
                     (rc = cv_report_suggest(st, &yaml, &n_best, err)) != 0))
        goto done;
    bool analyzed = fg.n > 0 && n_effects > 0;

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
          out);
    if (refresh > 0)
        fprintf(out, "<meta http-equiv=\"refresh\" content=\"%d\">\n", refresh);
    const char *name = st->job.name ? st->job.name : "?";
    fputs("<title>", out);
    cv_report_put_escaped(out, name);
    fprintf(out, ": caviar report</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n",
            page_css);
    fputs("<h1>Study ", out);
    cv_report_put_escaped(out, name);
    fputs("</h1>\n<p>", out);
    cv_report_put_escaped(out, st->path);
    fputs("</p>\n</header>\n<nav aria-label=\"sections\"><ul><li><a href=\"#summary\">The study"
          "</a></li><li><a href=\"#leaderboard\">Leaderboard</a></li>",
          out);
    if (analyzed)
        fputs("<li><a href=\"#importance\">What matters</a></li><li><a href=\"#effects\">Each "
              "parameter</a></li>",
              out);
    if (fg.n > 0)
        fputs("<li><a href=\"#curves\">Learning curves</a></li>", out);
    if (fg.n > 0 && cv_space_dims(st->space) > 0)
        fputs("<li><a href=\"#parallel\">Parallel coordinates</a></li>", out);
    if (fg.n > 0 && st->n_rounds > 0)
        fputs("<li><a href=\"#rounds\">Coarse to fine</a></li>", out);
    cv_report_halving_info rungs;
    if (fg.n > 0 && cv_report_halving(st, &rungs))
        fputs("<li><a href=\"#halving\">Successive halving</a></li>", out);
    if (fg.n > 0 && st->job.search.schedule == CV_SCHEDULE_PBT)
        fputs("<li><a href=\"#pbt\">Population-based training</a></li>", out);
    if (analyzed)
        fputs("<li><a href=\"#next\">Next region</a></li>", out);
    fputs("</ul></nav>\n<main>\n", out);

    if ((rc = put_summary(out, st, err)) != 0)
        goto done;
    if (st->n_rows == 0) {
        fputs("<p>No trial has finished yet.</p>\n", out);
    } else {
        put_leaderboard(out, st, fg.order, top);
        if (fg.n == 0)
            fprintf(out, "<p>No trial has a %s: nothing to analyze.</p>\n",
                    cv_report_metric_name(st));
    }
    if (fg.n > 0) {
        if (analyzed) {
            put_importance(out, st, effects, n_effects);
            put_effects(out, &fg, effects, n_effects, fg.metric[0]);
        }
        if ((rc = put_figures(out, &fg, err)) != 0)
            goto done;
        put_rounds(out, st);
        put_halving(out, st);
        if (st->job.search.schedule == CV_SCHEDULE_PBT && (rc = put_pbt(out, &fg, err)) != 0)
            goto done;
        if (analyzed)
            put_region(out, st, yaml, n_best, fg.n);
    }

    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    fprintf(out, "</main>\n<footer><p>Written by caviar %s at %s.%s</p></footer>\n"
                 "<script>\n%s</script>\n</body>\n</html>\n",
            CAVIAR_VERSION, when,
            refresh > 0 ? " The study is running: this page reloads itself while it does." : "",
            page_js);

done:
    cv_report_figs_free(&fg);
    free(effects);
    free(yaml);
    return rc;
}

/* ---- the file --------------------------------------------------------------------- */

/* PATH.tmp, beside the page: the rename that replaces the page stays in
 * its directory (one file system). */
static int temp_path(const char *path, char *buf, size_t size, cv_error *err)
{
    if (snprintf(buf, size, "%s.tmp", path) >= (int)size)
        return cv_fail(err, CV_ERR_INPUT, "%s: path too long", path);
    return 0;
}

int cv_report_html_check(const char *path, const char *results, cv_error *err)
{
    struct stat sp, sr;
    if (path[0] == '\0')
        return cv_fail(err, CV_ERR_INPUT, "--html: expected a file name");
    if (stat(path, &sp) == 0) {
        if (S_ISDIR(sp.st_mode))
            return cv_fail(err, CV_ERR_INPUT, "%s: is a directory; --html expects a file name",
                           path);
        if (results != NULL && stat(results, &sr) == 0 && sp.st_dev == sr.st_dev &&
            sp.st_ino == sr.st_ino)
            return cv_fail(err, CV_ERR_INPUT, "%s: is the results file; the page would "
                                              "overwrite it", path);
    }
    /* what writing the page will do: create PATH.tmp beside it */
    char tmp[4200];
    int rc = temp_path(path, tmp, sizeof tmp, err);
    if (rc != 0)
        return rc;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0 && errno == EEXIST) /* left by a watch that was killed: ours to replace */
        fd = open(tmp, O_WRONLY | O_TRUNC);
    if (fd < 0)
        return cv_fail(err, CV_ERR_INPUT, "%s: cannot write the page there: %s", path,
                       strerror(errno));
    close(fd);
    unlink(tmp);
    return 0;
}

int cv_report_html_file(const cv_study *st, const char *path, int top, int refresh, cv_error *err)
{
    char tmp[4200];
    int rc = temp_path(path, tmp, sizeof tmp, err);
    if (rc != 0)
        return rc;
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return cv_fail(err, CV_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    rc = cv_report_html(f, st, top, refresh, err);
    /* on disk before it takes the page's name: a reader sees the old page
     * or the new one, whole, even after a crash */
    bool bad = fflush(f) != 0 || ferror(f) != 0 || fsync(fileno(f)) != 0;
    int saved = errno;
    if (fclose(f) != 0)
        bad = true, saved = errno;
    if (rc == 0 && bad)
        rc = cv_fail(err, CV_ERR_IO, "%s: cannot write the page: %s", tmp, strerror(saved));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = cv_fail(err, CV_ERR_IO, "%s: cannot rename it to %s: %s", tmp, path,
                     strerror(errno));
    if (rc != 0)
        unlink(tmp);
    return rc;
}
