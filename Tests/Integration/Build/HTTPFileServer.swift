import Foundation

/// Python's http.server on 127.0.0.1 with a free port, serving one directory, for `ADD URL` tests.
/// It counts the GET requests it answered.
final class HTTPFileServer {
    let port: Int
    private let process: Process
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
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, directory, log]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw Command.Failure(command: "python3 http.server", status: 1, stderr: "no port")
        }
        self.port = port
    }

    var requestCount: Int {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.hasPrefix("GET") }.count
    }

    /// Stops the server with SIGKILL: a child started from a dispatch worker thread inherits
    /// its blocked signal mask, so SIGTERM would never arrive.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
