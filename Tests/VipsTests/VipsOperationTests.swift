import Testing
import Vips

@Suite struct VipsOperationTests {
    init() throws { try VipsRuntime.start() }

    /// `invert` has no typed method and no C wrapper: the generic call is all it takes.
    @Test func anOperationWithoutATypedMethodRuns() throws {
        let image = try VipsImage.solid(width: 4, height: 3, color: [10, 200, 30])
        let outputs = try VipsOperation.call("invert", ["in": .image(image)])
        #expect(outputs.names == ["out"])
        let inverted = try outputs.image()
        #expect(inverted.width == 4 && inverted.height == 3 && inverted.bands == 3)
        #expect(try inverted.pixel(x: 3, y: 2) == [245, 55, 225])
        #expect(try image.applying("invert").average() == (245 + 55 + 225) / 3)
    }

    @Test func scalarAndArrayOutputsAreRead() throws {
        let image = try VipsImage.solid(width: 8, height: 8, color: [10, 20, 30])
        #expect(try VipsOperation.call("avg", ["in": .image(image)]).double() == 20)
        let point = try VipsOperation.call("getpoint", ["in": .image(image), "x": .int(1), "y": .int(1)])
        #expect(try point.doubles("out_array") == [10, 20, 30])
        let crop = try VipsOperation.call(
            "smartcrop", ["input": .image(image), "width": .int(4), "height": .int(4)])
        #expect(try crop.image().width == 4)
        #expect(try crop.int("attention_x") >= 0)
    }

    @Test func unknownOperationIsRefused() {
        let error = #expect(throws: VipsError.self) { try VipsOperation.call("no_such_operation") }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.operation == "no_such_operation")
        #expect(error?.detail == "no libvips operation is named \"no_such_operation\"")
        let abstract = #expect(throws: VipsError.self) { try VipsOperation.call("foreign") }
        #expect(abstract?.kind == .invalidArgument)
        #expect(abstract?.detail == "no libvips operation is named \"foreign\"")
    }

    @Test func unknownArgumentIsRefused() throws {
        let image = try VipsImage.solid(width: 4, height: 4, color: [1])
        let error = #expect(throws: VipsError.self) { try image.applying("invert", ["bogus": .int(1)]) }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.operation == "invert")
        #expect(
            error?.detail.hasPrefix("no argument \"bogus\" (its arguments: ") == true, "\(String(describing: error))")
        #expect(error?.description.contains("libvips invert") == true)
    }

    @Test func outputArgumentIsNotAnInput() throws {
        let image = try VipsImage.solid(width: 4, height: 4, color: [1])
        let error = #expect(throws: VipsError.self) { try image.applying("invert", ["out": .image(image)]) }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.detail == "argument \"out\" is an output, not an input")
    }

    @Test func wrongValueTypeIsRefused() throws {
        let image = try VipsImage.solid(width: 4, height: 4, color: [1])
        let error = #expect(throws: VipsError.self) {
            try image.applying("embed", ["x": .string("left"), "y": .int(0), "width": .int(8), "height": .int(8)])
        }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.operation == "embed")
        #expect(error?.detail.hasPrefix("argument \"x\": expected an int in ") == true, "\(String(describing: error))")
        #expect(error?.detail.hasSuffix(", got string \"left\"") == true, "\(String(describing: error))")
        let flag = #expect(throws: VipsError.self) { try VipsOperation.call("invert", ["in": .bool(true)]) }
        #expect(flag?.detail == "argument \"in\": expected an image, got bool true")
    }

    @Test func wrongEnumNickIsRefused() throws {
        let image = try VipsImage.solid(width: 4, height: 4, color: [1])
        let error = #expect(throws: VipsError.self) {
            try image.applying(
                "embed",
                ["x": .int(0), "y": .int(0), "width": .int(8), "height": .int(8), "extend": .enumNick("nope")])
        }
        #expect(error?.kind == .invalidArgument)
        #expect(
            error?.description
                == "libvips embed failed (invalid-argument): argument \"extend\": expected an enum VipsExtend nick "
                + "(black, copy, repeat, mirror, white, background), got \"nope\"")
    }

    @Test func valuesOutOfRangeAreRefused() throws {
        let image = try VipsImage.solid(width: 4, height: 4, color: [1])
        let negative = #expect(throws: VipsError.self) { try image.applying("extract_band", ["band": .int(-1)]) }
        #expect(negative?.kind == .invalidArgument)
        #expect(negative?.detail.hasPrefix("argument \"band\": expected an int in 0...") == true)
        let huge = #expect(throws: VipsError.self) { try image.applying("extract_band", ["band": .int(1 << 40)]) }
        #expect(huge?.detail.contains("argument \"band\"") == true)
    }

    @Test func missingRequiredArgumentsAreNamed() throws {
        let image = try VipsImage.solid(width: 4, height: 4, color: [1])
        let error = #expect(throws: VipsError.self) { try image.applying("embed", ["x": .int(0)]) }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.operation == "embed")
        for name in ["y", "width", "height"] {
            #expect(error?.detail.contains("\"\(name)\" (an int") == true, "\(String(describing: error))")
        }
        #expect(error?.detail.contains("\"x\"") == false)
    }

    @Test func outputOfAnotherTypeIsRefused() throws {
        let image = try VipsImage.solid(width: 4, height: 4, color: [1])
        let outputs = try VipsOperation.call("invert", ["in": .image(image)])
        let error = #expect(throws: VipsError.self) { try outputs.double("out") }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.detail == "output \"out\" is not a double, it is an image (its outputs: out)")
    }

    /// A `draw_*` operation writes into its `image`: the call draws on a memory copy and returns it, and
    /// the caller's image is untouched.
    @Test func inputsModifiedInPlaceAreCopiedFirst() throws {
        let image = try VipsImage.solid(width: 6, height: 6, color: [0])
        let drawn = try VipsOperation.call(
            "draw_rect",
            [
                "image": .image(image), "ink": .doubles([255]), "left": .int(1), "top": .int(1), "width": .int(2),
                "height": .int(2), "fill": .bool(true),
            ]
        ).image("image")
        #expect(try drawn.pixel(x: 1, y: 1) == [255])
        #expect(try drawn.pixel(x: 4, y: 4) == [0])
        #expect(try image.average() == 0)
    }

    /// Every reference the generic call takes (the operation, its inputs held in GValues, its outputs) is
    /// released: after 1,000 renders through it, and failed calls, the live libvips images are as before.
    /// Only images of this test's odd sizes are counted, since other suites render at the same time; every
    /// leak ends in one of them (a leaked operation or GValue holds its input and output images).
    @Test func aThousandRendersLeaveNoLibvipsObjectAlive() throws {
        let source = try VipsImage.solid(width: 53, height: 41, color: [20, 120, 220])
        func resize() throws -> VipsImage {
            try source.resized(horizontalScale: 0.7, verticalScale: 0.7, kernel: .lanczos3)
        }
        func embed(_ image: VipsImage) throws -> VipsImage {
            try image.embedded(x: 3, y: 2, width: image.width + 7, height: image.height + 5, background: [1, 2, 3])
        }
        let first = try resize()
        let sizes: Set<[Int]> = [[53, 41], [first.width, first.height], [first.width + 7, first.height + 5]]
        func ours() -> Int { VipsRuntime.liveImageSizes().filter { sizes.contains([$0.width, $0.height]) }.count }
        let before = ours()
        for index in 0..<1000 {
            let resized = try resize()
            let jpeg = try embed(resized).jpegData(quality: 80)
            #expect(jpeg.count > 100)
            // Refused after an image was put in a GValue ("in" sorts before "width").
            #expect(throws: VipsError.self) {
                try VipsOperation.call(
                    "embed",
                    [
                        "in": .image(resized), "x": .int(0), "y": .int(0), "width": .string("wide"),
                        "height": .int(1),
                    ])
            }
            // A failed build (libvips' own error), a few times only: the error buffer is the process's.
            if index % 100 == 0 {
                #expect(throws: VipsError.self) { try resized.extracting(left: 0, top: 0, width: 999, height: 999) }
            }
        }
        #expect(ours() == before)
        // The count sees live images: each held render adds the same number of them.
        let one = [try embed(resize())]
        let countWithOne = ours()
        let two = one + [try embed(resize())]
        let countWithTwo = ours()
        #expect(countWithOne > before)
        #expect(countWithTwo - countWithOne == countWithOne - before)
        withExtendedLifetime(two) {}
    }
}
