public import Foundation

/// A helper process started by a test (moto's S3 server, a fault proxy) and killed when the test process
/// ends or the value goes away.
public final class HelperProcess: @unchecked Sendable {
    public let process = Process()
    public let port: Int

    /// Starts `arguments` (found on `PATH` through `env`), then waits until `ready` answers `true`.
    public init(_ arguments: [String], port: Int, environment: [String: String] = [:], ready: () -> Bool) throws {
        self.port = port
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        HelperProcess.register(process.processIdentifier)
        for _ in 0..<200 {
            if ready() { return }
            if !process.isRunning { break }
            usleep(100_000)
        }
        kill(process.processIdentifier, SIGKILL)
        throw FixtureError("\(arguments.joined(separator: " ")) did not become ready")
    }

    /// Kills the helper. SIGKILL, not SIGTERM: the test runner blocks SIGTERM in its signal mask, and a
    /// child inherits that mask, so moto and Python servers would never see a SIGTERM.
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }

    nonisolated(unsafe) private static var pids: [Int32] = []
    private static let lock = NSLock()
    private static let installed: Void = {
        atexit {
            HelperProcess.lock.lock()
            for pid in HelperProcess.pids { kill(pid, SIGKILL) }
            HelperProcess.lock.unlock()
        }
    }()

    static func register(_ pid: Int32) {
        _ = installed
        lock.lock()
        pids.append(pid)
        lock.unlock()
    }
}

/// A port nobody listens on right now.
public func freePort() -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on the port.
public func isListening(_ port: Int) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    } == 0
}

/// moto's standalone S3 server on a loopback port, one per test process.
public enum Moto {
    public static let shared: Result<HelperProcess, FixtureError> = {
        let port = freePort()
        do {
            return .success(
                try HelperProcess(["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], port: port) {
                    isListening(port)
                })
        } catch {
            return .failure(FixtureError("moto could not start (pip install 'moto[server]'): \(error)"))
        }
    }()

    public static var endpoint: String {
        get throws { "http://127.0.0.1:\(try shared.get().port)" }
    }

    /// Runs a boto3 snippet against the server (the independent client) and returns its standard output.
    /// The snippet sees `s3` (a client) and `json`.
    public static func boto3(_ snippet: String) throws -> String {
        let program = """
            import boto3, json, hashlib
            s3 = boto3.client("s3", endpoint_url="\(try endpoint)", region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
            \(snippet)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", program]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw FixtureError("boto3 failed: \(errors)") }
        return output
    }

    /// Creates a bucket with a fresh name and returns it.
    public static func makeBucket() throws -> String {
        let name = "rendition-\(UUID().uuidString.lowercased().prefix(18))"
        _ = try boto3("s3.create_bucket(Bucket=\"\(name)\")")
        return name
    }
}

/// `Tests/S3StorageTests/fault_proxy.py` in front of moto, in `mode` (see the script for modes and `count`).
public func faultProxy(_ mode: String, _ count: String = "1") throws -> HelperProcess {
    let port = freePort()
    let script = Repository.root().appendingPathComponent("Tests/S3StorageTests/fault_proxy.py").path
    return try HelperProcess(["python3", script, String(port), try Moto.endpoint, mode, count], port: port) {
        isListening(port)
    }
}

extension Process {
    /// Waits for the process to exit on a dispatch thread, never on Swift's cooperative pool: the process
    /// may be waiting for a server (a Runtime API peer, a test app) whose handlers need that pool.
    public func exited() async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                self.waitUntilExit()
                continuation.resume(returning: self.terminationStatus)
            }
        }
    }
}
