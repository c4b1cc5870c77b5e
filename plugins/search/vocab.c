/*
 * vocab.c — the property plugin's vocabularies (plugins/property/validate.c):
 * the filter and facet values of type and amenities are these codes, so a
 * facet has a bounded set of values and a doc's amenities fit one 32-bit
 * mask.  Free-text amenity names (the Inside Airbnb data: "Free parking on
 * premises") map to a code by keywords; unknown ones only count as text.
 */
#include "sx.h"

#include <string.h>

const char *const sx_type_names[SX_NTYPES] = {
    "apartment", "house", "studio", "room", "villa", "townhouse", "loft",
    "cottage", "cabin", "bungalow", "chalet", "condo"};

const char *const sx_amenity_names[SX_NAMENITIES] = {
    "wifi", "parking", "gym", "pool", "washer", "dryer", "dishwasher",
    "air_conditioning", "heating", "kitchen", "tv", "workspace", "elevator",
    "balcony", "garden", "terrace", "fireplace", "hot_tub", "bbq", "ev_charger",
    "crib", "wheelchair_accessible", "pets_allowed", "smoking_allowed",
    "security_system", "sea_view"};

int sx_type_code(const char *s)
{
    for (int i = 0; i < SX_NTYPES; i++)
        if (strcmp(s, sx_type_names[i]) == 0)
            return i;
    return -1;
}

/* Keywords of free-text names, tried in order; "!" entries exclude. */
static const struct {
    const char *kw;
    int code; /* -1: the name has no code */
} rules[] = {
    {"dishwasher", 6}, {"hair dryer", -1}, {"pool table", -1}, {"wifi", 0}, {"wi-fi", 0},
    {"parking", 1}, {"gym", 2}, {"pool", 3}, {"washer", 4}, {"dryer", 5},
    {"air conditioning", 7}, {"heating", 8}, {"kitchen", 9}, {"hdtv", 10}, {"tv", 10},
    {"workspace", 11}, {"elevator", 12}, {"balcony", 13}, {"garden", 14}, {"backyard", 14},
    {"terrace", 15}, {"fireplace", 16}, {"hot tub", 17}, {"bbq", 18}, {"barbecue", 18},
    {"ev charger", 19}, {"crib", 20}, {"wheelchair", 21}, {"pets allowed", 22},
    {"smoking allowed", 23}, {"security camera", 24}, {"security system", 24},
    {"sea view", 25}, {"ocean view", 25}, {"beach view", 25}, {"harbor view", 25},
    {"harbour view", 25}, {"bay view", 25}};

int sx_amenity_code(const char *s)
{
    for (int i = 0; i < SX_NAMENITIES; i++)
        if (strcmp(s, sx_amenity_names[i]) == 0)
            return i;
    char f[128];
    sx_fold_str(s, strlen(s), f, sizeof(f));
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        const char *hit = strstr(f, rules[i].kw);
        if (!hit)
            continue;
        if (strcmp(rules[i].kw, "tv") == 0) { /* a word, not "tv" in "outvoted" */
            size_t k = (size_t)(hit - f);
            if ((k > 0 && f[k - 1] != ' ') || (hit[2] && hit[2] != ' '))
                continue;
        }
        return rules[i].code;
    }
    return -1;
}
