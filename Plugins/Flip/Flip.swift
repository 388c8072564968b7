public import RenditionCore
public import Vips

/// `flip`: mirrors the image, left to right (`horizontal`, the default) or top to bottom (`vertical`).
public struct Flip: TransformStage {
    public static let name = "flip"
    public static let summary = "Mirrors the image left to right (horizontal) or top to bottom (vertical)."
    public static let role = TransformRole.geometry

    /// The axis of the mirror.
    public enum Direction: String, Sendable, CaseIterable {
        /// Swaps left and right.
        case horizontal
        /// Swaps top and bottom.
        case vertical
    }

    static let direction = StageOption<Direction>.choice(
        "direction", default: .horizontal, help: "horizontal swaps left and right; vertical swaps top and bottom.")

    public static let options = OptionSpec.list(direction)

    public let direction: Direction

    public init(options: StageOptions) throws {
        direction = options[Self.direction]
    }

    public func contribute(to hints: inout LoadHints) {
        // The last row comes out first, which a streaming decoder cannot serve.
        if direction == .vertical { hints.randomAccess = true }
    }

    public func predict(_ geometry: ImageGeometry) -> ImageGeometry { geometry }

    public func apply(to image: VipsImage, context: StageContext) throws -> VipsImage {
        try image.flipped(direction == .horizontal ? .horizontal : .vertical)
    }
}
