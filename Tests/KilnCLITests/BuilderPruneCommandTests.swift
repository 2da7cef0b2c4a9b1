import Foundation
import Testing

@testable import KilnCLI

struct BuilderPruneCommandTests {
    static let sizes: [(String, Int64)] = [
        ("512", 512), ("100b", 100), ("100B", 100), ("1k", 1024), ("1KB", 1024), ("1KiB", 1024),
        ("1.5KB", 1536), ("512MiB", 512 << 20), ("512mb", 512 << 20), ("10G", 10 << 30), ("10GB", 10 << 30),
        ("10gb", 10 << 30), ("10GiB", 10 << 30), ("10 GB", 10 << 30), ("2TB", 2 << 40), ("1PB", 1 << 50),
        ("1e3", 1000),
    ]

    @Test(arguments: sizes)
    func keepStorageSizesAreBinary(_ text: String, _ bytes: Int64) {
        #expect(ByteSizeParser.parse(text) == bytes)
    }

    static let invalidSizes: [String] = [
        "lots", "KB", "", "-1", "10GBs", "10XB", "10bb", "10kbb", "1 0", "10  GB", "0x10", "10GiBs",
    ]

    @Test(arguments: invalidSizes)
    func invalidKeepStorageSizes(_ text: String) {
        #expect(ByteSizeParser.parse(text) == nil)
    }
}
