import Foundation
import KilnCLI
import KilnImage

// Before anything opens a file: output paths such as /dev/fd/3 may name only these descriptors.
InheritedDescriptors.record()
// Before anything touches libcrypto: exit() must not run its cleanup while worker threads are
// still finishing, and digests do not need openssl.cnf (see `LibCrypto`).
LibCrypto.startWithoutConfiguration()
let status = await Kiln.main(Array(CommandLine.arguments.dropFirst()), context: .process())
exit(status)
