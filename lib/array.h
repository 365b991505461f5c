/* Element count of an array (not of a pointer: that would compile and be wrong). */
#ifndef DNSVIGIL_ARRAY_H
#define DNSVIGIL_ARRAY_H

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
