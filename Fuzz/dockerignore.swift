import KilnDockerfile

/// Parses the input as a `.dockerignore` file and matches paths built from its own lines, walking
/// each path's directories with the parent's result, and checking that matching without a parent
/// result agrees with `isExcluded`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDockerignore(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let ignore = try? DockerIgnore(parsing: bytes, file: ".dockerignore") else { return 0 }

    var paths = ["a", "a/b", "a/b/c.txt", "node_modules/x/y.js", ".git/config", "Dockerfile"]
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n").prefix(8) {
        let cleaned = line.split(separator: "/").filter { $0 != "." && $0 != ".." && !$0.isEmpty }
        if !cleaned.isEmpty { paths.append(cleaned.joined(separator: "/")) }
    }
    for path in paths {
        var parent: DockerIgnore.Match?
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix = prefix.isEmpty ? String(component) : prefix + "/" + component
            parent = ignore.match(prefix, parent: parent)
            let alone = ignore.match(prefix, parent: nil)
            precondition(alone.isExcluded == ignore.isExcluded(prefix), "match without a parent and isExcluded disagree for \(prefix)")
            _ = ignore.mustDescend(intoExcluded: prefix)
        }
    }
    return 0
}
