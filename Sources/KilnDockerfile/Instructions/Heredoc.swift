/// A here-document attached to RUN, COPY or ADD: `<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`.
public struct Heredoc: Sendable, Hashable, Codable {
    /// The delimiter word with quotes removed, which is also the file name for COPY and ADD.
    public var name: String
    /// The lines between the instruction and the delimiter, each with its line break, exactly as
    /// written. Leading tabs are still there for `<<-`, and `effectiveContent` removes them.
    public var content: String
    /// `<<-`: leading tabs are removed from every content line and from the delimiter line.
    public var stripsLeadingTabs: Bool
    /// False when any part of the delimiter was quoted (`<<"EOF"`, `<<'EOF'`), which turns off
    /// variable expansion in the content.
    public var expandsVariables: Bool
    /// The file descriptor before `<<`, such as 3 in `3<<EOF`; 0 when none was written.
    public var fileDescriptor: Int
    /// The lines of the content, from the line after the instruction to the line before the
    /// delimiter; empty when the content is empty.
    public var contentLines: ClosedRange<Int>?

    public init(
        name: String, content: String, stripsLeadingTabs: Bool = false, expandsVariables: Bool = true,
        fileDescriptor: Int = 0, contentLines: ClosedRange<Int>? = nil
    ) {
        self.name = name
        self.content = content
        self.stripsLeadingTabs = stripsLeadingTabs
        self.expandsVariables = expandsVariables
        self.fileDescriptor = fileDescriptor
        self.contentLines = contentLines
    }

    /// The content with leading tabs removed from every line when the delimiter was `<<-`.
    public var effectiveContent: String {
        guard stripsLeadingTabs else { return content }
        var result = String.UnicodeScalarView()
        var atLineStart = true
        for scalar in content.unicodeScalars {
            if atLineStart && scalar == "\t" { continue }
            atLineStart = scalar == "\n"
            result.append(scalar)
        }
        return String(result)
    }
}
