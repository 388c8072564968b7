import RenditionCore
import TestSupport
import Testing
import Vips

@Suite struct RendererTests {
    let planner = Planner(registry: registry)

    func plan(_ factor: String = "0.1", maxPixels: String? = nil) throws -> PipelinePlan {
        let extra: [(String, SpecNode)] =
            maxPixels.map {
                [
                    (
                        "limits",
                        .mapping([SpecEntry(key: "maxInputPixels", keyLocation: here, value: .scalar($0, here))], here)
                    )
                ]
            } ?? []
        return try planner.plan(
            name: "t",
            document: document([("scale", [("factor", factor)]), ("write", [("level", "1")])], extra: extra),
            source: "p.yaml"
        ).get()
    }

    @Test func rendersOnThePoolWithShrinkOnLoad() async throws {
        let renderer = try Renderer(threads: 2)
        let input = try Fixtures.jpeg(Fixtures.photo(width: 1600, height: 1200))
        let result = try await renderer.render(plan("0.1"), input: input)
        #expect(result.report.shrinkOnLoad == 8, "0.1 leaves a factor of 1.25 after an 8× shrink")
        #expect(result.report.loadedWidth == 200 && result.report.loadedHeight == 150)
        #expect(result.width == 160 && result.height == 120)
        #expect(result.mediaType == "image/png" && SniffResult(result.bytes) == .supported(.png))
        try await renderer.shutdown()
    }

    /// A progressive original at 1/8: skipping its unread scans gives the whole file's pixels, and every
    /// hostile edit of its scans gets exactly the answer the whole-file decode gives (`corrupt_image` here).
    @Test(arguments: [nil] + HostileScans.allCases)
    func skippedScansAnswerAsTheWholeFile(edit: HostileScans?) async throws {
        let (skipping, whole) = (
            try Renderer(threads: 1, scanSkipping: .unread), try Renderer(threads: 1, scanSkipping: .none)
        )
        let progressive = try ProgressiveJPEG.jpegtran(
            try Fixtures.photo(width: 1600, height: 1200).jpegData(quality: 85))
        let input = edit?.apply(to: progressive) ?? progressive
        let plan = try plan("0.1")
        func outcome(_ renderer: Renderer) async -> Result<[UInt8], RenditionError> {
            do { return .success(try await renderer.render(plan, input: input).bytes) } catch let error
                as RenditionError
            {
                return .failure(error)
            } catch { return .failure(RenditionError(.internal, "\(error)")) }
        }
        let (skipped, decoded) = (await outcome(skipping), await outcome(whole))
        switch (skipped, decoded) {
        case (.success(let skipped), .success(let decoded)):
            #expect(edit == nil)
            #expect(try Fixtures.decode(skipped).pixelBytes() == Fixtures.decode(decoded).pixelBytes())
        case (.failure(let skipped), .failure(let decoded)):
            #expect(edit != nil)
            #expect(skipped.code == decoded.code && skipped.code == .corruptImage)
        default:
            Issue.record("skipping scans answered \(skipped), the whole file \(decoded)")
        }
        try await skipping.shutdown()
        try await whole.shutdown()
    }

    @Test func refusesPixelBombsFromTheHeader() async throws {
        let renderer = try Renderer(threads: 1)
        let bomb = try Fixtures.jpegClaiming(width: 65_500, height: 65_500)
        let error = await #expect(throws: RenditionError.self) { try await renderer.render(plan(), input: bomb) }
        #expect(error?.code == .tooManyPixels)
        #expect(error?.message.contains("65500×65500") == true)
        let lowered = await #expect(throws: RenditionError.self) {
            try await renderer.render(
                plan(maxPixels: "1K"), input: try Fixtures.jpeg(Fixtures.photo(width: 64, height: 64)))
        }
        #expect(lowered?.code == .tooManyPixels && lowered?.message.contains("1K") == true)
        try await renderer.shutdown()
    }

    @Test func refusesOversizedInputsBeforeLookingAtThem() async throws {
        let renderer = try Renderer(threads: 1, limits: InputLimits(maxInputBytes: 100))
        let error = await #expect(throws: RenditionError.self) {
            try await renderer.render(plan(), input: [UInt8](repeating: 0xFF, count: 101))
        }
        #expect(error?.code == .inputTooLarge)
        try await renderer.shutdown()
    }

    @Test func expiredDeadlineStopsTheRender() async throws {
        let renderer = try Renderer(threads: 1)
        let error = await #expect(throws: RenditionError.self) {
            try await renderer.render(
                plan(), input: try Fixtures.jpeg(Fixtures.photo(width: 64, height: 64)),
                deadline: Deadline(.now - .seconds(1)))
        }
        #expect(error?.code == .deadlineExceeded)
        try await renderer.shutdown()
    }

    @Test func manyConcurrentRendersShareThePool() async throws {
        let renderer = try Renderer(threads: 2)
        let plan = try plan("0.5")
        let input = try Fixtures.jpeg(Fixtures.photo(width: 200, height: 100))
        let sizes = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<16 { group.addTask { try await renderer.render(plan, input: input).width } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(sizes == Array(repeating: 100, count: 16))
        try await renderer.shutdown()
    }
}
