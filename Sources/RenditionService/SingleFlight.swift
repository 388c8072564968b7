/// Runs one piece of work per key at a time: callers that ask for a key already in flight wait for the
/// same result instead of starting it again (a stampede of misses renders once).
///
/// The work runs in its own task, so a caller that goes away (a client disconnect) does not cancel it:
/// the rendition is still stored whole, and the other waiters still get it.
actor SingleFlight<Value: Sendable> {
    private var flights: [String: Task<Value, any Error>] = [:]

    /// Keys in flight now.
    var count: Int { flights.count }

    func run(_ key: String, _ work: @escaping @Sendable () async throws -> Value) async throws -> (
        value: Value, shared: Bool
    ) {
        if let flight = flights[key] {
            return (try await flight.value, true)
        }
        let flight = Task { try await work() }
        flights[key] = flight
        defer { flights[key] = nil }
        return (try await flight.value, false)
    }
}
