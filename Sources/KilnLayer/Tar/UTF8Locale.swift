import Glibc

/// Runs `body` with the calling thread in the C.UTF-8 locale.
///
/// libarchive converts names between the current locale's character set and the UTF-8 of PAX
/// records, and caches that character set per archive on first use. In the default C locale it
/// cannot convert any non-ASCII name. uselocale(3) changes only the calling thread, so kiln
/// switches around each libarchive call and leaves the process locale alone.
func withUTF8Locale<Result>(_ body: () throws -> Result) rethrows -> Result {
    guard let locale = utf8Locale else { return try body() }
    let previous = uselocale(locale)
    defer { uselocale(previous) }
    return try body()
}

/// glibc 2.35 and later have C.UTF-8 built in. Where it is missing this is nil, and names go
/// through libarchive's ASCII fallback, which writes non-ASCII names as `hdrcharset=BINARY`.
private nonisolated(unsafe) let utf8Locale: locale_t? = newlocale(LC_CTYPE_MASK, "C.UTF-8", nil)
