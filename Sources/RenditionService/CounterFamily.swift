public import Metrics
import Synchronization

/// Counters that share a label and differ by dimension values, such as requests by route and status.
/// Each counter is made the first time its values are seen and kept, so counting a request or a failure
/// never builds a counter (and its factory lookup) again.
public final class CounterFamily: Sendable {
    let label: String
    let dimensions: [String]
    let factory: any MetricsFactory
    let counters = Mutex<[[String]: Counter]>([:])

    /// Counters of `label` told apart by `dimensions` (names, in the order ``counter(_:)`` takes values).
    public init(label: String, dimensions: [String], factory: any MetricsFactory) {
        self.label = label
        self.dimensions = dimensions
        self.factory = factory
    }

    /// The counter for `values`, one per dimension.
    public func counter(_ values: String...) -> Counter {
        precondition(values.count == dimensions.count, "\(label) has \(dimensions.count) dimensions")
        return counters.withLock { counters in
            if let counter = counters[values] { return counter }
            let counter = Counter(
                label: label, dimensions: Array(zip(dimensions, values)), factory: factory)
            counters[values] = counter
            return counter
        }
    }
}
