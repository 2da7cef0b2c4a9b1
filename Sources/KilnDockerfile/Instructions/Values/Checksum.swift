/// `ADD --checksum` values: an OCI digest with a known algorithm and lower-case hex.
enum Checksum {
    static func isValid(_ text: String) -> Bool {
        guard let colon = text.firstIndex(of: ":") else { return false }
        let algorithm = text[..<colon]
        let hex = text[text.index(after: colon)...]
        let length: Int
        switch algorithm {
        case "sha256": length = 64
        case "sha384": length = 96
        case "sha512": length = 128
        default: return false
        }
        return hex.utf8.count == length && hex.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
