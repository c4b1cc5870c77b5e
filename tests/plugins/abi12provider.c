/*
 * abi12provider — provides the interface test.greeter (ABI 1.2
 * iface_provide) to abi12probe.  Its greeting comes from [plugin.abi12provider]
 * greeting, so the test can tell the call really reached this plugin.
 */
#include <rentezy/plugin.h>

#include <stdio.h>

#include "abi12_greeter.h"

static char greeting[64] = "Hello";

static int greet(const char *name, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s, %s!", greeting, name ? name : "world");
    return n < 0 || (size_t)n >= len ? RZ_EINVAL : RZ_OK;
}

/* static: the registry keeps only the pointer, valid until destroy */
static const test_greeter_t greeter = {.size = sizeof(test_greeter_t), .greet = greet};

static int init(rz_plugin_t *self, const rz_host_t *host, void **state)
{
    (void)state;
    const char *g;
    if (host->abi_minor < 2 || host->config_string(self, "greeting", "Hello", &g) != RZ_OK)
        return RZ_EINVAL;
    snprintf(greeting, sizeof(greeting), "%s", g);
    return host->iface_provide(self, TEST_GREETER_IFACE, &greeter);
}
RZ_PLUGIN_DEFINE(.name = "abi12provider", .version = "1.0.0",
                 .description = "provides test.greeter", .init = init)
