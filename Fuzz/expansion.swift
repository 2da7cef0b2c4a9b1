import KilnDockerfile

/// Expands the first line of the input as a word, with each later `NAME=value` line as a variable.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExpansion(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let word = lines.isEmpty ? "" : lines.removeFirst()
    var variables: [String: String] = [:]
    for line in lines {
        guard let equals = line.firstIndex(of: "=") else { continue }
        variables[String(line[..<equals])] = String(line[line.index(after: equals)...])
    }

    for escape: Character in ["\\", "`"] {
        let expander = ShellExpander(escape: escape)
        var names: Set<String> = []
        _ = try? expander.expandWord(word, with: variables, referencedNames: &names)
        _ = try? expander.expandWords(word, with: variables)
        _ = try? expander.expandHeredoc(word, with: variables)
        _ = try? expander.expandPairs([KeyValuePair(key: word, value: word)], with: variables)
    }
    return 0
}
