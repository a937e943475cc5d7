/* LRP rules by name and the composites: which rule each layer gets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "relevance/lrp.h"

const char *const rm_rule_names[RM_RULE_COUNT] = {"zero", "epsilon", "zplus", "alphabeta", "gamma",
                                                  "wsquare", "flat", "zbox", "pass"};

/* "epsilon", "zplus", "alpha2beta1" / "alpha2-beta1", "gamma", "wsquare", "flat", "zbox", "zero" */
int rm_rule_parse(const char *text, rm_rule *rule, double eps, double gamma)
{
    memset(rule, 0, sizeof *rule);
    rule->eps = eps;
    rule->gamma = gamma;
    double a, b;
    if (sscanf(text, "alpha%lf-beta%lf", &a, &b) == 2 || sscanf(text, "alpha%lfbeta%lf", &a, &b) == 2) {
        if (a < 0 || b < 0 || a - b != 1)
            return rm_error("rule '%s': alpha and beta must be >= 0 with alpha - beta = 1", text);
        rule->kind = RM_RULE_ALPHABETA;
        rule->alpha = a;
        rule->beta = b;
        return 0;
    }
    for (int k = 0; k < RM_RULE_PASS; k++)
        if (!strcmp(text, rm_rule_names[k])) {
            rule->kind = (rm_rule_kind)k;
            if (rule->kind == RM_RULE_ZPLUS) rule->alpha = 1, rule->beta = 0;
            return 0;
        }
    return rm_error("unknown LRP rule '%s' (expected zero, epsilon, zplus, alphaA-betaB, gamma, wsquare, flat, zbox)",
                    text);
}

static int is_linear(rm_layer_type t) { return t == RM_LAYER_CONV || t == RM_LAYER_DENSE; }

static const char *const composite_names[] = {"epsilon-plus-flat", "epsilon-gamma-box", "epsilon", "alpha2-beta1",
                                              "epsilon-plus"};

int rm_composite_check(const char *composite)
{
    for (size_t i = 0; i < sizeof composite_names / sizeof composite_names[0]; i++)
        if (!strcmp(composite, composite_names[i])) return 0;
    return rm_error("unknown composite '%s' (expected epsilon-plus-flat, epsilon-gamma-box, epsilon, "
                    "alpha2-beta1, epsilon-plus)", composite);
}

int rm_rule_override_check(const char *override)
{
    const char *eq = strchr(override, '=');
    if (!eq || eq == override) return rm_error("--rule '%s': expected LAYER=RULE (LAYER may end in '*')", override);
    rm_rule r;
    if (rm_rule_parse(eq + 1, &r, 0, 0) != 0) return rm_error_prefix("--rule '%s'", override);
    return 0;
}

static int composite_rule(const char *composite, const rm_netdef *def, int layer, int first_linear, rm_rule *r,
                          double eps, double gamma)
{
    rm_layer_type t = def->layers[layer].type;
    const char *name;
    if (!is_linear(t)) {
        memset(r, 0, sizeof *r);
        r->kind = RM_RULE_PASS;   /* pooling layers pick their own treatment */
        r->eps = eps;
        return 0;
    }
    if (!strcmp(composite, "epsilon")) name = "epsilon";
    else if (!strcmp(composite, "epsilon-plus-flat"))
        name = layer == first_linear ? "flat" : t == RM_LAYER_CONV ? "zplus" : "epsilon";
    else if (!strcmp(composite, "epsilon-gamma-box"))
        name = layer == first_linear ? "zbox" : t == RM_LAYER_CONV ? "gamma" : "epsilon";
    else if (!strcmp(composite, "alpha2-beta1")) name = t == RM_LAYER_CONV ? "alpha2-beta1" : "epsilon";
    else if (!strcmp(composite, "epsilon-plus"))
        name = t == RM_LAYER_CONV ? "zplus" : "epsilon";
    else
        return rm_composite_check(composite);
    return rm_rule_parse(name, r, eps, gamma);
}

static int matches(const char *pattern, size_t len, const char *name)
{
    if (len > 0 && pattern[len - 1] == '*') return strncmp(pattern, name, len - 1) == 0;
    return strlen(name) == len && strncmp(pattern, name, len) == 0;
}

int rm_lrp_composite(rm_lrp_config *cfg, const rm_netdef *def, const char *composite,
                     const char *const *overrides, int num_overrides, double eps, double gamma)
{
    memset(cfg, 0, sizeof *cfg);
    RM_TRY(rm_lrp_check_network(def));
    cfg->rules = rm_calloc((size_t)def->num_layers, sizeof *cfg->rules, "LRP rules");
    if (!cfg->rules) return -1;
    cfg->num_rules = def->num_layers;
    int first_linear = -1;
    for (int i = 0; i < def->num_layers && first_linear < 0; i++)
        if (is_linear(def->layers[i].type)) first_linear = i;
    for (int i = 0; i < def->num_layers; i++)
        if (composite_rule(composite, def, i, first_linear, &cfg->rules[i], eps, gamma) != 0) goto fail;
    for (int k = 0; k < num_overrides; k++) {
        const char *eq = strchr(overrides[k], '=');
        if (!eq || eq == overrides[k]) {
            rm_error("--rule '%s': expected LAYER=RULE (LAYER may end in '*')", overrides[k]);
            goto fail;
        }
        size_t len = (size_t)(eq - overrides[k]);
        int hits = 0;
        for (int i = 0; i < def->num_layers; i++) {
            if (!matches(overrides[k], len, def->layers[i].name)) continue;
            if (!is_linear(def->layers[i].type)) {
                rm_error("--rule '%s': layer %s is a %s layer; rules apply to conv and dense layers", overrides[k],
                         def->layers[i].name, rm_layer_type_names[def->layers[i].type]);
                goto fail;
            }
            if (rm_rule_parse(eq + 1, &cfg->rules[i], eps, gamma) != 0) goto fail;
            hits++;
        }
        if (!hits) {
            rm_error("--rule '%s': no conv or dense layer is named '%.*s'", overrides[k], (int)len, overrides[k]);
            goto fail;
        }
    }
    return 0;
fail:
    rm_lrp_config_free(cfg);
    return -1;
}

void rm_lrp_config_free(rm_lrp_config *cfg)
{
    free(cfg->rules);
    memset(cfg, 0, sizeof *cfg);
}
