/*
 * The interface test.greeter, shared by the ABI 1.2 test plugins the way an
 * SDK header would define a vtable such as payment.provider.*: it starts
 * with its size so it can grow like the ABI's own structs.
 */
#ifndef ABI12_GREETER_H
#define ABI12_GREETER_H

#include <stddef.h>
#include <stdint.h>

typedef struct test_greeter {
    uint32_t size; /* sizeof(test_greeter_t) of the provider */
    /* Writes "<greeting>, <name>!" into buf. */
    int (*greet)(const char *name, char *buf, size_t len);
} test_greeter_t;

#define TEST_GREETER_IFACE "test.greeter"

#endif
