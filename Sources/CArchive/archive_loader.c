// libarchive, loaded with dlopen on the first call instead of at process start.
//
// When kiln linked libarchive, the dynamic loader loaded and relocated it at every start of
// kiln, with libxml2, ICU, liblzma, libbz2, liblz4, libacl and libnettle that it depends on.
// That took about 1.7 ms of CPU time of `kiln --version` (perf stat, 2 cores, Debian 12).
// Commands that need no tar, such as `kiln run` of an unpacked image, no longer pay it.
//
// Each function below has the name and type that <archive.h> declares, so the Swift code calls
// it as it would call libarchive, and the compiler checks each type against the header. A
// libarchive function that kiln starts to use needs a line here: the link fails without it.

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "CArchive.h"

// The file name below is the soname of libarchive 3.x.
#if ARCHIVE_VERSION_NUMBER < 3000000 || ARCHIVE_VERSION_NUMBER >= 4000000
#error "kiln loads libarchive.so.13, the soname of libarchive 3.x"
#endif

static const char kiln_archive_library[] = "libarchive.so.13";
static pthread_once_t kiln_archive_once = PTHREAD_ONCE_INIT;
static void *kiln_archive_handle;

static void kiln_archive_open(void) {
    kiln_archive_handle = dlopen(kiln_archive_library, RTLD_NOW | RTLD_LOCAL);
}

// Returns libarchive's function `name`. Ends the process with status 1 when the library or the
// function is missing, because the caller has no way to report an error.
static void *kiln_archive_function(const char *name) {
    pthread_once(&kiln_archive_once, kiln_archive_open);
    if (kiln_archive_handle == NULL) {
        fprintf(stderr, "error: loading %s failed: %s\nhint: install libarchive 3 (Debian: apt-get install libarchive13)\n",
                kiln_archive_library, dlerror());
        _exit(1);
    }
    void *function = dlsym(kiln_archive_handle, name);
    if (function == NULL) {
        fprintf(stderr, "error: %s has no function %s\nhint: install libarchive 3 (Debian: apt-get install libarchive13)\n",
                kiln_archive_library, name);
        _exit(1);
    }
    return function;
}

// Declares `loaded`, libarchive's function `name`, found on the first call. Threads that race
// on the first call store the same pointer.
#define KILN_LOAD(name)                                                                         \
    static __typeof__(name) *function;                                                          \
    __typeof__(name) *loaded = __atomic_load_n(&function, __ATOMIC_ACQUIRE);                    \
    if (loaded == NULL) {                                                                       \
        loaded = (__typeof__(name) *)kiln_archive_function(#name);                              \
        __atomic_store_n(&function, loaded, __ATOMIC_RELEASE);                                  \
    }

// Defines `name` to call libarchive's function of the same name and return its result.
#define KILN_FORWARD(result, name, parameters, arguments)                                       \
    result name parameters {                                                                    \
        KILN_LOAD(name)                                                                         \
        return loaded arguments;                                                                \
    }

// Defines `name` as KILN_FORWARD does, with errno cleared before the call. libarchive's name
// getters and `update_*_utf8` setters end the process ("No memory") when a name fails to convert
// and errno reads ENOMEM, even when an earlier call on the thread left that value there.
#define KILN_FORWARD_NAME(result, name, parameters, arguments)                                  \
    result name parameters {                                                                    \
        KILN_LOAD(name)                                                                         \
        errno = 0;                                                                              \
        return loaded arguments;                                                                \
    }

// Defines `name` to call libarchive's function of the same name, which returns nothing.
#define KILN_FORWARD_VOID(name, parameters, arguments)                                          \
    void name parameters {                                                                      \
        KILN_LOAD(name)                                                                         \
        loaded arguments;                                                                       \
    }

KILN_FORWARD(struct archive_entry *, archive_entry_clear, (struct archive_entry *a0), (a0))
KILN_FORWARD_VOID(archive_entry_copy_hardlink, (struct archive_entry *a0, const char *a1), (a0, a1))
KILN_FORWARD_VOID(archive_entry_copy_pathname, (struct archive_entry *a0, const char *a1), (a0, a1))
KILN_FORWARD_VOID(archive_entry_copy_symlink, (struct archive_entry *a0, const char *a1), (a0, a1))
KILN_FORWARD(__LA_MODE_T, archive_entry_filetype, (struct archive_entry *a0), (a0))
KILN_FORWARD_VOID(archive_entry_free, (struct archive_entry *a0), (a0))
KILN_FORWARD(la_int64_t, archive_entry_gid, (struct archive_entry *a0), (a0))
KILN_FORWARD_NAME(const char *, archive_entry_hardlink, (struct archive_entry *a0), (a0))
KILN_FORWARD_NAME(const char *, archive_entry_hardlink_utf8, (struct archive_entry *a0), (a0))
KILN_FORWARD(time_t, archive_entry_mtime, (struct archive_entry *a0), (a0))
KILN_FORWARD(long, archive_entry_mtime_nsec, (struct archive_entry *a0), (a0))
KILN_FORWARD(struct archive_entry *, archive_entry_new, (void), ())
KILN_FORWARD_NAME(const char *, archive_entry_pathname, (struct archive_entry *a0), (a0))
KILN_FORWARD_NAME(const char *, archive_entry_pathname_utf8, (struct archive_entry *a0), (a0))
KILN_FORWARD(__LA_MODE_T, archive_entry_perm, (struct archive_entry *a0), (a0))
KILN_FORWARD(dev_t, archive_entry_rdevmajor, (struct archive_entry *a0), (a0))
KILN_FORWARD(dev_t, archive_entry_rdevminor, (struct archive_entry *a0), (a0))
KILN_FORWARD_VOID(archive_entry_set_filetype, (struct archive_entry *a0, unsigned int a1), (a0, a1))
KILN_FORWARD_VOID(archive_entry_set_gid, (struct archive_entry *a0, la_int64_t a1), (a0, a1))
KILN_FORWARD_VOID(archive_entry_set_mtime, (struct archive_entry *a0, time_t a1, long a2), (a0, a1, a2))
KILN_FORWARD_VOID(archive_entry_set_perm, (struct archive_entry *a0, __LA_MODE_T a1), (a0, a1))
KILN_FORWARD_VOID(archive_entry_set_rdevmajor, (struct archive_entry *a0, dev_t a1), (a0, a1))
KILN_FORWARD_VOID(archive_entry_set_rdevminor, (struct archive_entry *a0, dev_t a1), (a0, a1))
KILN_FORWARD_VOID(archive_entry_set_size, (struct archive_entry *a0, la_int64_t a1), (a0, a1))
KILN_FORWARD_VOID(archive_entry_set_uid, (struct archive_entry *a0, la_int64_t a1), (a0, a1))
KILN_FORWARD(la_int64_t, archive_entry_size, (struct archive_entry *a0), (a0))
KILN_FORWARD_NAME(const char *, archive_entry_symlink, (struct archive_entry *a0), (a0))
KILN_FORWARD_NAME(const char *, archive_entry_symlink_utf8, (struct archive_entry *a0), (a0))
KILN_FORWARD(la_int64_t, archive_entry_uid, (struct archive_entry *a0), (a0))
KILN_FORWARD_NAME(int, archive_entry_update_hardlink_utf8, (struct archive_entry *a0, const char *a1), (a0, a1))
KILN_FORWARD_NAME(int, archive_entry_update_pathname_utf8, (struct archive_entry *a0, const char *a1), (a0, a1))
KILN_FORWARD_NAME(int, archive_entry_update_symlink_utf8, (struct archive_entry *a0, const char *a1), (a0, a1))
KILN_FORWARD_VOID(archive_entry_xattr_add_entry, (struct archive_entry *a0, const char *a1, const void *a2, size_t a3), (a0, a1, a2, a3))
KILN_FORWARD(int, archive_entry_xattr_next, (struct archive_entry *a0, const char **a1, const void **a2, size_t *a3), (a0, a1, a2, a3))
KILN_FORWARD(int, archive_entry_xattr_reset, (struct archive_entry *a0), (a0))
KILN_FORWARD(int, archive_errno, (struct archive *a0), (a0))
KILN_FORWARD(const char *, archive_error_string, (struct archive *a0), (a0))
KILN_FORWARD(int, archive_format, (struct archive *a0), (a0))
KILN_FORWARD(la_ssize_t, archive_read_data, (struct archive *a0, void *a1, size_t a2), (a0, a1, a2))
KILN_FORWARD(int, archive_read_free, (struct archive *a0), (a0))
KILN_FORWARD(la_int64_t, archive_read_header_position, (struct archive *a0), (a0))
KILN_FORWARD(struct archive *, archive_read_new, (void), ())
KILN_FORWARD(int, archive_read_next_header, (struct archive *a0, struct archive_entry **a1), (a0, a1))
KILN_FORWARD(int, archive_read_open, (struct archive *a0, void *a1, archive_open_callback *a2, archive_read_callback *a3, archive_close_callback *a4), (a0, a1, a2, a3, a4))
KILN_FORWARD(int, archive_read_open_fd, (struct archive *a0, int a1, size_t a2), (a0, a1, a2))
KILN_FORWARD(int, archive_read_support_filter_all, (struct archive *a0), (a0))
KILN_FORWARD(int, archive_read_support_format_tar, (struct archive *a0), (a0))
KILN_FORWARD(int, archive_write_close, (struct archive *a0), (a0))
KILN_FORWARD(la_ssize_t, archive_write_data, (struct archive *a0, const void *a1, size_t a2), (a0, a1, a2))
KILN_FORWARD(int, archive_write_finish_entry, (struct archive *a0), (a0))
KILN_FORWARD(int, archive_write_free, (struct archive *a0), (a0))
KILN_FORWARD(int, archive_write_header, (struct archive *a0, struct archive_entry *a1), (a0, a1))
KILN_FORWARD(struct archive *, archive_write_new, (void), ())
KILN_FORWARD(int, archive_write_open, (struct archive *a0, void *a1, archive_open_callback *a2, archive_write_callback *a3, archive_close_callback *a4), (a0, a1, a2, a3, a4))
KILN_FORWARD(int, archive_write_set_bytes_in_last_block, (struct archive *a0, int a1), (a0, a1))
KILN_FORWARD(int, archive_write_set_bytes_per_block, (struct archive *a0, int a1), (a0, a1))
KILN_FORWARD(int, archive_write_set_format_pax_restricted, (struct archive *a0), (a0))
