import Foundation
import KilnSystem

/// Python's http.server on 127.0.0.1 with a free port, serving one directory, for `ADD URL` tests.
/// It counts the GET requests it answered.
final class HTTPFileServer {
    let port: Int
    private let process: ChildProcess
    private let log: String

    init(directory: String) throws {
        log = directory + "/../http-server.log"
        let script = """
            import http.server, socketserver, sys, functools
            class Handler(http.server.SimpleHTTPRequestHandler):
                def log_message(self, format, *args):
                    with open(sys.argv[2], 'a') as f: f.write(self.command + ' ' + self.path + '\\n')
            server = socketserver.TCPServer(('127.0.0.1', 0), functools.partial(Handler, directory=sys.argv[1]))
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """
        let output = try FileDescriptor.pipe()
        process = try HelperServer.spawn(
            "python3", arguments: ["-c", script, directory, log], descriptors: [0: 0, 1: output.writeEnd.rawValue, 2: 2])
        try output.writeEnd.close()
        var line: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 256)
        while !line.contains(UInt8(ascii: "\n")) {
            let count = try chunk.withUnsafeMutableBytes { try output.readEnd.read(into: $0) }
            if count == 0 { break }
            line += chunk[0..<count]
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.signal(SIGKILL)
            _ = process.waitBlocking()
            throw Command.Failure(command: "python3 http.server", status: 1, stderr: "no port")
        }
        self.port = port
    }

    var pid: pid_t { process.pid }

    var requestCount: Int {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.hasPrefix("GET") }.count
    }

    /// Stops the server with SIGKILL, because the tests need no orderly shutdown.
    func stop() {
        process.signal(SIGKILL)
        _ = process.waitBlocking()
    }
}
