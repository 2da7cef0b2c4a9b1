/// Aligns tab-separated cells into columns the way Go's text/tabwriter does with the Docker
/// CLI's settings (`tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`): a column is as wide as its
/// widest cell plus 3 spaces, and at least 10. The last cell of a line is not padded, and a
/// column spans only the consecutive lines that have a cell in it.
struct TabWriter {
    var minimumWidth = 10
    var padding = 3

    /// Formats `text` (lines separated by `\n`, cells by `\t`).
    func format(_ text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
        // A trailing newline ends the last line; it does not start an empty one.
        if text.hasSuffix("\n") { lines.removeLast() }
        var output = ""
        var widths: [Int] = []
        format(lines, 0, lines.count, &widths, into: &output)
        return output
    }

    private func format(_ lines: [[String]], _ start: Int, _ end: Int, _ widths: inout [Int], into output: inout String)
    {
        var first = start
        let column = widths.count
        var index = start
        while index < end {
            guard column < lines[index].count - 1 else {
                index += 1
                continue
            }
            write(lines, first, index, widths, into: &output)
            first = index
            var width = minimumWidth
            while index < end, column < lines[index].count - 1 {
                width = max(width, Self.displayWidth(lines[index][column]) + padding)
                index += 1
            }
            widths.append(width)
            format(lines, first, index, &widths, into: &output)
            widths.removeLast()
            first = index
        }
        write(lines, first, end, widths, into: &output)
    }

    private func write(_ lines: [[String]], _ start: Int, _ end: Int, _ widths: [Int], into output: inout String) {
        guard start < end else { return }
        for line in lines[start..<end] {
            for (column, cell) in line.enumerated() {
                output += cell
                if column < line.count - 1, column < widths.count {
                    output += String(repeating: " ", count: max(0, widths[column] - Self.displayWidth(cell)))
                }
            }
            output += "\n"
        }
    }

    /// Characters, as tabwriter counts them (runes).
    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.count
    }
}
