import Synchronization

/// A bounded number of renders admitted at once: as many as there are workers, plus a queue. Past that,
/// callers are refused at once (503) instead of piling up memory and latency.
final class Admission: Sendable {
    let workers: Int
    let queueSize: Int
    private let admitted = Mutex(0)

    init(workers: Int, queueSize: Int) {
        self.workers = workers
        self.queueSize = queueSize
    }

    /// Renders admitted now (running or queued).
    var current: Int { admitted.withLock { $0 } }

    /// Renders waiting for a worker.
    var queued: Int { max(0, current - workers) }

    /// Admits one render, or returns `false` when workers and queue are full.
    func enter() -> Bool {
        admitted.withLock { count in
            guard count < workers + queueSize else { return false }
            count += 1
            return true
        }
    }

    func leave() {
        admitted.withLock { $0 -= 1 }
    }
}
