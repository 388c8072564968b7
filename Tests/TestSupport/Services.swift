public import Foundation
import Synchronization

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

    private static let pids = Mutex<[Int32]>([])
    private static let installed: Void = {
        atexit {
            HelperProcess.pids.withLock { pids in
                for pid in pids { kill(pid, SIGKILL) }
            }
        }
    }()

    static func register(_ pid: Int32) {
        _ = installed
        pids.withLock { $0.append(pid) }
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

/// moto's server (S3, IAM, CloudFront; `Tests/S3StorageTests/moto_server.py`, which checks signatures against
/// the request as sent, as AWS does) on a loopback port, one per test process, with authentication on: `Tests/S3StorageTests/moto_iam.py` gives it an `admin` user for the tests' own boto3
/// calls and a `function` user with exactly the render function's permissions from `deploy/template.yaml`,
/// which Rendition's S3 stores use. A wrong signature or a permission the template lacks fails as on AWS.
public enum Moto {
    public struct Server: Sendable {
        public let process: HelperProcess
        /// Access key ID and secret of each user.
        public let admin: (id: String, secret: String)
        public let function: (id: String, secret: String)
    }

    public static let shared: Result<Server, FixtureError> = {
        let port = freePort()
        do {
            let folder = Repository.root().appendingPathComponent("Tests/S3StorageTests")
            let process = try HelperProcess(
                ["python3", folder.appendingPathComponent("moto_server.py").path, "127.0.0.1", String(port)], port: port
            ) { isListening(port) }
            let script = folder.appendingPathComponent("moto_iam.py").path
            let template = Repository.root().appendingPathComponent("deploy/template.yaml").path
            let output = try run(["python3", script, "http://127.0.0.1:\(port)", template])
            guard let keys = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [String]],
                let admin = keys["admin"], let function = keys["function"], admin.count == 2, function.count == 2
            else { throw FixtureError("moto_iam.py printed no keys: \(output)") }
            return .success(Server(process: process, admin: (admin[0], admin[1]), function: (function[0], function[1])))
        } catch {
            return .failure(FixtureError("moto could not start (pip install 'moto[server]'): \(error)"))
        }
    }()

    public static var endpoint: String {
        get throws { "http://127.0.0.1:\(try shared.get().process.port)" }
    }

    /// The `AWS_*` variables of the function's user, for Rendition processes and configurations.
    public static var functionEnvironment: [String: String] {
        get throws {
            let user = try shared.get().function
            return ["AWS_ACCESS_KEY_ID": user.id, "AWS_SECRET_ACCESS_KEY": user.secret, "AWS_REGION": "us-east-1"]
        }
    }

    /// The `RENDITION_*` and `AWS_*` variables of a service whose stores are the buckets `originals` and
    /// `renditions` on moto (path addressing), as the function's user.
    public static func serviceEnvironment(
        originals: String, renditions: String, renditionsEndpoint: String? = nil
    ) throws -> [String: String] {
        [
            "RENDITION_SOURCE_TYPE": "s3", "RENDITION_SOURCE_BUCKET": originals,
            "RENDITION_SOURCE_ENDPOINT": try endpoint, "RENDITION_SOURCE_ADDRESSING": "path",
            "RENDITION_RENDITIONS_TYPE": "s3", "RENDITION_RENDITIONS_BUCKET": renditions,
            "RENDITION_RENDITIONS_ENDPOINT": try renditionsEndpoint ?? endpoint,
            "RENDITION_RENDITIONS_ADDRESSING": "path",
        ].merging(try functionEnvironment) { a, _ in a }
    }

    /// Every key in `bucket`, sorted (read with boto3, page by page).
    public static func keys(_ bucket: String) throws -> [String] {
        let listed = try boto3(
            """
            keys = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket="\(bucket)"):
                keys += [o["Key"] for o in page.get("Contents", [])]
            print(json.dumps(sorted(keys)))
            """)
        guard let keys = try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [String] else {
            throw FixtureError("the listing of \(bucket) is not a JSON list: \(listed)")
        }
        return keys
    }

    /// Runs a boto3 snippet as the admin user (the independent client) and returns its standard output.
    /// The snippet sees `s3`, `cloudfront` (clients) and `json`.
    public static func boto3(_ snippet: String) throws -> String {
        let admin = try shared.get().admin
        let program = """
            import boto3, json, hashlib
            session = boto3.session.Session(aws_access_key_id="\(admin.id)", aws_secret_access_key="\(admin.secret)",
                                            region_name="us-east-1")
            s3 = session.client("s3", endpoint_url="\(try endpoint)")
            cloudfront = session.client("cloudfront", endpoint_url="\(try endpoint)")
            \(snippet)
            """
        return try run(["python3", "-c", program])
    }

    /// Runs `arguments` and returns standard output; throws with standard error when it fails. Standard error
    /// goes to a file, not a second pipe: a child that fills one pipe while the other is read would wait forever.
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("moto-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorFile) }
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let errors = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else { throw FixtureError("\(arguments[1]) failed: \(errors)") }
        return output
    }

    /// What a bucket is for: the function's policy differs between the two (see `moto_iam.py`).
    public enum BucketRole: String, Sendable {
        case originals, renditions
    }

    /// Creates a bucket with a fresh name for `role` and returns it.
    public static func makeBucket(_ role: BucketRole = .renditions) throws -> String {
        let name = "\(role.rawValue)-\(UUID().uuidString.lowercased().prefix(18))"
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
