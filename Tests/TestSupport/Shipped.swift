import RenditionCatalog
public import RenditionCore
public import Testing

/// The presets in the repository's `pipelines/`, planned once per test process.
public let shippedPlans: [String: PipelinePlan] =
    PipelineLibrary.load([Repository.root().appendingPathComponent("pipelines").path]).plans

/// Expects `stage` built from `options` to fail with a message that contains `message`: the shape of
/// every stage's bad-options test.
public func expectProblem<S: Stage>(
    _ stage: S.Type, _ options: [String: OptionValue], contains message: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let error = #expect(throws: (any Error).self, sourceLocation: sourceLocation) { try S.make(options) }
    let text = error.map { "\($0)" } ?? ""
    #expect(text.contains(message), "\(text)", sourceLocation: sourceLocation)
}
