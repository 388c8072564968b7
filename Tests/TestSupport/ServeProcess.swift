public import Foundation

/// A binary the build made (`rendition`, `bootstrap`), beside the running test bundle: the same configuration
/// as the tests (`make test` builds both optimized), never a binary another configuration left behind.
public func builtBinary(_ name: String) -> URL {
    let sibling = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
        name)
    precondition(
        FileManager.default.isExecutableFile(atPath: sibling.path),
        "\(sibling.path) is missing: build the products with the tests (swift build -c release --build-tests)")
    return sibling
}

/// `rendition serve` as a child process on a free port, started in a folder and ready once `/healthz`
/// answers 200. Its standard error goes to `server.log` in that folder. Stop it in a `defer`; it is
/// killed when the value goes away or the test process ends, whichever comes first.
public final class ServeProcess: @unchecked Sendable {
    public let process = Process()
    public let port = freePort()
    /// The server's standard error.
    public let log: URL

    /// Starts `rendition serve --port <port> <arguments>` in `directory` with exactly `environment`.
    public init(
        in directory: URL, arguments: [String] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        log = directory.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = builtBinary("rendition")
        process.arguments = ["serve", "--port", String(port)] + arguments
        process.currentDirectoryURL = directory
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        HelperProcess.register(process.processIdentifier)
        for _ in 0..<150 {
            if healthStatus() == 200 { return }
            if !process.isRunning { break }
            usleep(100_000)
        }
        stop()
        throw FixtureError("rendition serve did not start:\n\(logText)")
    }

    /// `http://127.0.0.1:<port>`.
    public var base: String { "http://127.0.0.1:\(port)" }

    /// What the server has written to standard error so far.
    public var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Kills the server (SIGKILL: the test runner blocks SIGTERM, and a child inherits that mask) and waits.
    public func stop() {
        guard process.processIdentifier != 0 else { return }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Sends SIGTERM (`rendition serve` shuts down gracefully on it), waits, and returns the exit status.
    public func terminate() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { stop() }

    /// The status `/healthz` answers, through curl; 0 when nothing answers.
    private func healthStatus() -> Int {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "\(base)/healthz"]
        let out = Pipe()
        curl.standardOutput = out
        guard (try? curl.run()) != nil else { return 0 }
        let written = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        return Int(written) ?? 0
    }
}
