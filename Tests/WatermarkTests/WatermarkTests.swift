import Foundation
import RenditionCore
import Synchronization
import TestSupport
import Testing
import Vips
import Watermark

@Suite struct WatermarkTests {
    /// A pipeline folder of this test's own, with a `watermarks` folder beside its (never written) preset.
    let folder: URL
    var preset: String { folder.appendingPathComponent("press.yaml").path }

    init() throws {
        try VipsRuntime.start()
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("watermark-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("watermarks"), withIntermediateDirectories: true)
    }

    /// Writes `bytes` as mark `name`.
    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: folder.appendingPathComponent("watermarks").appendingPathComponent(name))
    }

    /// The stage as planned from the preset in `folder`, its options written at line 4, column 7.
    func stage(_ values: [String: OptionValue]) throws -> Watermark {
        let options = try StageOptions.check(
            stage: Watermark.name, specs: Watermark.options, values: values,
            location: SpecLocation(file: preset, line: 4, column: 7)
        ).get()
        return try Watermark(options: options)
    }

    /// The located problem planning `values` reports.
    func problem(_ values: [String: OptionValue]) -> String {
        do {
            _ = try stage(values)
            return "planned"
        } catch {
            return "\(error)"
        }
    }

    @Test func theMarksDigestFollowsItsFile() throws {
        try writeWhiteMark()
        let first = try #require(try stage(["image": .string("mark.png")]).contentDigest)
        #expect(try stage(["image": .string("mark.png")]).contentDigest == first, "the same file, the same digest")
        try write("mark.png", VipsImage.solid(width: 100, height: 50, color: [0, 0, 0, 255]).pngData())
        #expect(try stage(["image": .string("mark.png")]).contentDigest != first)
    }

    /// A white, opaque 100×50 mark saved as PNG.
    func writeWhiteMark(_ name: String = "mark.png") throws {
        try write(name, VipsImage.solid(width: 100, height: 50, color: [255, 255, 255, 255]).pngData())
    }

    /// Every pixel of `image` (8-bit, `bands` bands) that differs from `base` by more than 1, as a bounding box,
    /// and the mean value of the first band inside that box.
    func changes(_ image: VipsImage, from base: [Double]) throws -> (box: [Int], mean: Double) {
        let bytes = try image.pixelBytes()
        let bands = image.bands
        var (minX, minY, maxX, maxY) = (Int.max, Int.max, -1, -1)
        var (sum, count) = (0.0, 0)
        for y in 0..<image.height {
            for x in 0..<image.width {
                let start = (y * image.width + x) * bands
                let differs = (0..<bands).contains { abs(Double(bytes[start + $0]) - base[$0]) > 1 }
                guard differs else { continue }
                (minX, minY, maxX, maxY) = (min(minX, x), min(minY, y), max(maxX, x), max(maxY, y))
                sum += Double(bytes[start])
                count += 1
            }
        }
        #expect(count == (maxX - minX + 1) * (maxY - minY + 1), "every pixel of the box changed")
        return ([minX, minY, maxX + 1, maxY + 1], count == 0 ? 0 : sum / Double(count))
    }

    @Test(arguments: [
        ("southeast", [284, 234, 384, 284]), ("northwest", [16, 16, 116, 66]), ("centre", [150, 125, 250, 175]),
        ("north", [150, 16, 250, 66]), ("west", [16, 125, 116, 175]),
    ])
    func changesOnlyTheRegionGravityNames(gravity: String, box: [Int]) throws {
        try writeWhiteMark()
        let base = try VipsImage.solid(width: 400, height: 300, color: Fixtures.grey)
        let stage = try stage(["image": "mark.png", "width": 0.25, "gravity": .string(gravity)])
        let result = try stage.apply(to: base, context: .forTesting(base))
        #expect((result.width, result.height, result.bands) == (400, 300, 3))
        let found = try changes(result, from: Fixtures.grey)
        #expect(found.box == box)
        // Half of the way from grey (128) to white (255).
        #expect(abs(found.mean - 191.5) <= 1.5, "\(found.mean)")
    }

    @Test(arguments: [0.1, 0.5, 0.8, 1.0])
    func blendsAtTheOpacityAsked(opacity: Double) throws {
        try writeWhiteMark()
        let base = try VipsImage.solid(width: 400, height: 300, color: [0, 0, 0])
        let stage = try stage(["image": "mark.png", "width": 0.25, "opacity": .number(opacity)])
        let result = try stage.apply(to: base, context: .forTesting(base))
        let pixel = try result.pixel(x: 334, y: 259)
        #expect(pixel.allSatisfy { abs($0 - 255 * opacity) <= 1.5 }, "\(pixel)")
        #expect(try result.pixel(x: 280, y: 259) == [0, 0, 0], "left of the mark")
    }

    @Test func transparentPartsOfTheMarkLeaveTheImageAlone() throws {
        // A 100×50 mark: transparent, with an opaque red 20×10 block at its centre.
        let mark = try VipsImage.solid(width: 100, height: 50, color: [0, 0, 0, 0])
            .drawingRectangle(color: [220, 30, 30, 255], left: 40, top: 20, width: 20, height: 10)
        try write("block.png", mark.pngData())
        let base = try VipsImage.solid(width: 400, height: 300, color: Fixtures.grey)
        let stage = try stage(["image": "block.png", "width": 0.25, "opacity": 1, "gravity": "northwest", "margin": 0])
        let result = try stage.apply(to: base, context: .forTesting(base))
        let found = try changes(result, from: Fixtures.grey)
        #expect(found.box == [40, 20, 60, 30])
        #expect(try Marker(result.pixel(x: 50, y: 25)) == .red)
    }

    @Test func aMarkLargerThanTheOutputIsScaledDownAndTheOutputKeepsItsSize() throws {
        try write("huge.png", VipsImage.solid(width: 1000, height: 1000, color: [255, 255, 255, 255]).pngData())
        let base = try VipsImage.solid(width: 200, height: 100, color: [0, 0, 0])
        let stage = try stage(["image": "huge.png", "width": 1, "opacity": 1])
        let result = try stage.apply(to: base, context: .forTesting(base))
        let geometry = ImageGeometry(width: 200, height: 100)
        #expect(stage.predict(geometry) == geometry)
        #expect((result.width, result.height) == (200, 100), "the prediction agrees with apply")
        // Height-bound: 100×100, and the margin gives way vertically where there is no room for it.
        #expect(try changes(result, from: [0, 0, 0]).box == [84, 0, 184, 100])
    }

    @Test func greyAndAlphaImagesKeepTheirBands() throws {
        try writeWhiteMark()
        let stage = try stage(["image": "mark.png", "opacity": 1])
        for (color, bands) in [([100.0], 1), ([100.0, 255], 2), ([10.0, 20, 30, 128], 4)] {
            let base = try VipsImage.solid(width: 400, height: 300, color: color)
            let result = try stage.apply(to: base, context: .forTesting(base))
            #expect(result.bands == bands && result.isEightBit)
            #expect(try result.pixel(x: 340, y: 260)[0] >= 254, "white mark drawn over \(color)")
            let outside = try result.pixel(x: 10, y: 10)
            #expect(zip(outside, color).allSatisfy { abs($0 - $1) <= 1 }, "\(outside) is still \(color)")
        }
    }

    @Test func rendersSharingOneDecodedMarkAgree() throws {
        try writeWhiteMark()
        let stage = try stage(["image": "mark.png"])
        let results = Mutex([Double](repeating: -1, count: 16))
        DispatchQueue.concurrentPerform(iterations: 16) { index in
            let value = Result { () throws -> Double in
                let base = try VipsImage.solid(width: 400 + index, height: 300, color: Fixtures.grey)
                return try stage.apply(to: base, context: .forTesting(base)).average()
            }
            results.withLock { $0[index] = (try? value.get()) ?? -1 }
        }
        let means = results.withLock { $0 }
        #expect(means.allSatisfy { $0 > 128 }, "\(means)")
    }

    @Test func theShippedMarkIsASmallPNGWithAlpha() throws {
        let pipelines = Repository.root().appendingPathComponent("pipelines")
        let file = pipelines.appendingPathComponent("watermarks/rendition.png")
        let bytes = try [UInt8](Data(contentsOf: file))
        #expect(bytes.count < 4_096)
        #expect(SniffResult(bytes) == .supported(.png))
        let decoded = try VipsImage.load(VipsInput(bytes: bytes, format: .png))
        #expect(decoded.hasAlpha)
        let options = try StageOptions.check(
            stage: Watermark.name, specs: Watermark.options, values: ["image": "rendition.png"],
            location: SpecLocation(file: pipelines.appendingPathComponent("press.yaml").path, line: 1, column: 1)
        ).get()
        #expect(throws: Never.self) { try Watermark(options: options) }
    }

    // MARK: Bad input, refused when the preset is planned

    @Test func aMissingFileIsRefused() {
        #expect(
            problem(["image": "missing.png"])
                == "\(preset):4:7: watermark.image: \(folder.path)/watermarks/missing.png does not exist or cannot be read; put the PNG or WebP mark there or correct the name"
        )
        expectProblem(
            Watermark.self, ["image": "missing.png"],
            contains: "watermark.image: watermarks/missing.png does not exist or cannot be read")
    }

    @Test func aFileThatIsNotAnImageIsRefused() throws {
        try write("notes.png", Array("just some notes\n".utf8))
        try write("noise.png", [0x00, 0x13, 0x37, 0xFF, 0x00, 0x01])
        try write("empty.png", [])
        let path = "\(preset):4:7: watermark.image: \(folder.path)/watermarks"
        #expect(
            problem(["image": "notes.png"]) == "\(path)/notes.png is text, not an image; save the mark as PNG or WebP")
        #expect(
            problem(["image": "noise.png"])
                == "\(path)/noise.png is not a recognised image; save the mark as PNG or WebP")
        #expect(problem(["image": "empty.png"]) == "\(path)/empty.png is empty (0 bytes); save the mark as PNG or WebP")
    }

    @Test func anSVGIsRefused() throws {
        try write("logo.svg", Array("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>".utf8))
        #expect(
            problem(["image": "logo.svg"])
                == "\(preset):4:7: watermark.image: \(folder.path)/watermarks/logo.svg is SVG, not an image; save the mark as PNG or WebP"
        )
    }

    @Test func anotherImageFormatIsRefused() throws {
        try write("photo.jpg", Fixtures.jpeg(VipsImage.solid(width: 20, height: 10, color: Fixtures.grey)))
        #expect(
            problem(["image": "photo.jpg"])
                == "\(preset):4:7: watermark.image: \(folder.path)/watermarks/photo.jpg is JPEG, not PNG or WebP; save the mark as PNG or WebP"
        )
    }

    @Test func aPixelBombIsRefusedByItsHeader() throws {
        try write("bomb.png", Fixtures.pngClaiming(width: 10_000, height: 10_000))
        #expect(
            problem(["image": "bomb.png"])
                == "\(preset):4:7: watermark.image: \(folder.path)/watermarks/bomb.png declares 10000×10000 pixels, over the limit of 25M; use a smaller mark"
        )
    }

    @Test func aTruncatedPNGIsRefused() throws {
        let png = try Fixtures.photo(width: 200, height: 200).pngData()
        try write("cut.png", Fixtures.truncated(png, keeping: 0.5))
        #expect(
            problem(["image": "cut.png"])
                == "\(preset):4:7: watermark.image: \(folder.path)/watermarks/cut.png does not decode (corrupt or truncated); save the mark again as PNG or WebP"
        )
    }

    @Test(arguments: ["../press.yaml", "../../etc/passwd", "/etc/passwd", "sub/mark.png", ".hidden.png", "a\\b.png"])
    func aNameOutsideTheWatermarksFolderIsRefused(name: String) {
        expectProblem(
            Watermark.self, ["image": .string(name)],
            contains:
                "watermark.image: expected a file name such as \"logo.png\" (no folders, no leading dot), got \(name)")
    }

    @Test func optionsOutOfRangeAreRefused() {
        expectProblem(Watermark.self, [:], contains: "watermark.image: missing; expected a file name")
        expectProblem(
            Watermark.self, ["image": "m.png", "opacity": 1.5],
            contains: "watermark.opacity: expected a number from 0 to 1, got 1.5")
        expectProblem(
            Watermark.self, ["image": "m.png", "width": 0],
            contains: "watermark.width: expected a number from 0.01 to 1, got 0")
        expectProblem(
            Watermark.self, ["image": "m.png", "margin": -1],
            contains: "watermark.margin: expected an integer from 0 to 10000, got -1")
        expectProblem(
            Watermark.self, ["image": "m.png", "gravity": "entropy"],
            contains:
                "watermark.gravity: expected one of centre, north, northeast, east, southeast, south, southwest, west, northwest, got entropy"
        )
    }
}
