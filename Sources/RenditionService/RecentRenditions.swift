import ObjectStorage
import Synchronization

/// Renditions read or stored a moment ago, kept in memory so the requests that follow them skip the store:
/// the CDN's fetches right after a render's 301 (one per edge that asked), and repeated origin hits.
///
/// An entry is served for `validity` after it was read or stored, then read from the store again, so an
/// object deleted from the store (a purge) stops being served within that time; nginx's
/// `open_file_cache_valid` makes the same trade. Bounded by the bytes of the bodies it holds, oldest out
/// first; bodies over an eighth of the budget (or 1 MiB) are never kept. A budget of 0 turns it off.
final class RecentRenditions: Sendable {
    let capacity: Int
    let validity: Duration
    let largestObject: Int
    private let state = Mutex(State())

    init(capacity: Int, validity: Duration) {
        self.capacity = max(0, capacity)
        self.validity = validity
        largestObject = min(self.capacity / 8, 1 << 20)
    }

    /// The object stored under `key`, if it was read or stored less than `validity` ago.
    func object(_ key: ObjectKey) -> StoredObject? {
        guard capacity > 0 else { return nil }
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let entry = state.entries[key.rawValue] else { return nil }
            guard entry.expires > now else {
                state.remove(key.rawValue)
                return nil
            }
            return entry.object
        }
    }

    /// Keeps `object`, just read from or written to the store under `key`.
    func insert(_ object: StoredObject, for key: ObjectKey) {
        guard capacity > 0, object.body.count <= largestObject else { return }
        let expires = ContinuousClock.now + validity
        state.withLock { state in
            state.remove(key.rawValue)
            state.sequence += 1
            state.entries[key.rawValue] = Entry(object: object, expires: expires, sequence: state.sequence)
            state.order.append((key.rawValue, state.sequence))
            state.bytes += object.body.count
            while state.bytes > capacity, state.head < state.order.count {
                let (oldest, sequence) = state.order[state.head]
                state.head += 1
                if state.entries[oldest]?.sequence == sequence { state.remove(oldest) }
            }
            state.compactOrder()
        }
    }

    /// Bytes and entries held (for tests and metrics).
    var usage: (bytes: Int, entries: Int) { state.withLock { ($0.bytes, $0.entries.count) } }

    private struct Entry {
        var object: StoredObject
        var expires: ContinuousClock.Instant
        var sequence: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Insertion order; an element whose sequence no longer matches its entry is stale and skipped.
        var order: [(key: String, sequence: UInt64)] = []
        var head = 0
        var bytes = 0
        var sequence: UInt64 = 0

        mutating func remove(_ key: String) {
            if let old = entries.removeValue(forKey: key) { bytes -= old.object.body.count }
        }

        /// Drops consumed and stale order elements once they outnumber the live ones, so a key that is
        /// read again every `validity` for days does not grow the order without bound.
        mutating func compactOrder() {
            guard order.count > 2 * entries.count + 64 else { return }
            order = order[head...].filter { entries[$0.key]?.sequence == $0.sequence }
            head = 0
        }
    }
}
