#include <zlib.h>

// deflateInit2 and inflateInit2 are macros that pass the library version and struct size.
static inline int kiln_deflateInit2(z_streamp stream, int level, int method, int windowBits, int memLevel,
                                    int strategy) {
    return deflateInit2(stream, level, method, windowBits, memLevel, strategy);
}

static inline int kiln_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}
