#ifndef RZ_VERSION_H
#define RZ_VERSION_H
#define RZ_VERSION "0.1.0"
#endif
