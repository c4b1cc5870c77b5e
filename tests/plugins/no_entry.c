/* A shared object without the entry symbol: not a RentEzy plugin. */
#include <rentezy/plugin.h>
RZ_EXPORT int some_other_symbol(void);
RZ_EXPORT int some_other_symbol(void) { return 42; }
