/* Descriptors that the loader must refuse, each built into its own .so. */
#include <rentezy/plugin.h>

static int noop_init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    (void)self, (void)host, (void)state;
    return 0;
}

#define REFUSED_PLUGIN(...)                                                        \
    RZ_EXPORT const rz_plugin_desc_t *rentezy_plugin_v1(void);                     \
    RZ_EXPORT const rz_plugin_desc_t *rentezy_plugin_v1(void)                      \
    {                                                                              \
        static const rz_plugin_desc_t d = {__VA_ARGS__};                           \
        return &d;                                                                 \
    }
