import Foundation
import KilnCLI

let status = await Kiln.main(Array(CommandLine.arguments.dropFirst()), context: .process())
exit(status)
