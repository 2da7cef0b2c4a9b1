import CCrypto
import Foundation
import KilnCLI

// Before anything opens a file: output paths such as /dev/fd/3 may name only these descriptors.
InheritedDescriptors.record()
// Before anything touches libcrypto: exit() must not run its cleanup while worker threads are
// still finishing (see the shim).
_ = kiln_crypto_skip_exit_cleanup()
let status = await Kiln.main(Array(CommandLine.arguments.dropFirst()), context: .process())
exit(status)
