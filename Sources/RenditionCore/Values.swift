/// An 8-bit RGBA colour, written `#rgb`, `#rrggbb`, `#rrggbbaa`, or `white`, `black`, `transparent`.
public struct Color: Sendable, Hashable {
    public var red: Double
    public var green: Double
    public var blue: Double
    public var alpha: Double

    public init(red: Double, green: Double, blue: Double, alpha: Double = 255) {
        self.red = red
        self.green = green
        self.blue = blue
        self.alpha = alpha
    }

    public init?(parsing text: String) {
        switch text.lowercased() {
        case "white": self.init(red: 255, green: 255, blue: 255)
        case "black": self.init(red: 0, green: 0, blue: 0)
        case "transparent": self.init(red: 0, green: 0, blue: 0, alpha: 0)
        default:
            guard text.hasPrefix("#") else { return nil }
            var digits = Array(text.dropFirst())
            if digits.count == 3 || digits.count == 4 { digits = digits.flatMap { [$0, $0] } }
            guard digits.count == 6 || digits.count == 8 else { return nil }
            var channels: [Double] = []
            for index in stride(from: 0, to: digits.count, by: 2) {
                guard let byte = UInt8(String(digits[index...index + 1]), radix: 16) else { return nil }
                channels.append(Double(byte))
            }
            self.init(
                red: channels[0], green: channels[1], blue: channels[2], alpha: channels.count == 4 ? channels[3] : 255)
        }
    }

    /// What added pixels (padding, a rotation's corners) are when a preset names no colour: white, or
    /// transparent for an image that keeps alpha.
    public static func defaultBackground(hasAlpha: Bool) -> Color {
        hasAlpha ? Color(red: 0, green: 0, blue: 0, alpha: 0) : Color(red: 255, green: 255, blue: 255)
    }

    /// The colour as band values for an image of `bands` bands (1–2: grey, 3–4: RGB, with alpha last).
    public func bands(_ count: Int) -> [Double] {
        let grey = (red * 0.2126 + green * 0.7152 + blue * 0.0722).rounded()
        switch count {
        case 1: return [grey]
        case 2: return [grey, alpha]
        case 3: return [red, green, blue]
        default: return [red, green, blue, alpha] + Array(repeating: 0, count: max(0, count - 4))
        }
    }
}

/// A width-to-height ratio such as `16:9`.
public struct AspectRatio: Sendable, Hashable, CustomStringConvertible {
    public var width: Double
    public var height: Double

    public init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let width = Double(parts[0]), let height = Double(parts[1]),
            width > 0, height > 0, width.isFinite, height.isFinite
        else { return nil }
        self.width = width
        self.height = height
    }

    public var ratio: Double { width / height }
    public var description: String { "\(width):\(height)" }
}

/// Quantities written in pipeline files with a unit suffix.
public enum Quantity {
    /// Seconds from `90`, `90s`, `15m`, `12h`, `14d` or `2w`.
    public static func seconds(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800]
        var digits = Substring(text)
        var multiplier = 1
        if let last = digits.last, let unit = units[last] {
            multiplier = unit
            digits = digits.dropLast()
        }
        guard let value = Int(digits), value >= 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }

    /// A count from `5000000`, `500K`, `50M` or `1.5G` (decimal multipliers).
    public static func count(_ text: String) -> Int? {
        let units: [Character: Double] = ["K": 1e3, "M": 1e6, "G": 1e9]
        var digits = Substring(text)
        var multiplier = 1.0
        if let last = digits.last, let unit = units[last] {
            multiplier = unit
            digits = digits.dropLast()
        }
        guard let value = Double(digits), value > 0, (value * multiplier) < 1e15 else { return nil }
        let result = (value * multiplier).rounded()
        return result >= 1 ? Int(result) : nil
    }

    /// `50M`-style text for a count, exact when possible.
    public static func describe(count: Int) -> String {
        for (unit, size) in [("G", 1_000_000_000), ("M", 1_000_000), ("K", 1_000)] where count % size == 0 {
            return "\(count / size)\(unit)"
        }
        return String(count)
    }
}

/// Where a crop keeps its part of the image: a compass point, the centre, or (smart) where libvips finds
/// the most entropy or attention.
public enum Gravity: String, Sendable, CaseIterable {
    case centre, north, northeast, east, southeast, south, southwest, west, northwest
    case entropy, attention

    /// Whether libvips places the box itself by looking at the pixels (which reads them more than once).
    public var isSmart: Bool { self == .entropy || self == .attention }

    /// The top-left offset of a box at this compass point, given the spare pixels around it (smart
    /// gravities, placed by libvips, count as the centre here).
    public func offset(spareX: Int, spareY: Int) -> (x: Int, y: Int) {
        let x: Int =
            switch self {
            case .west, .northwest, .southwest: 0
            case .east, .northeast, .southeast: spareX
            default: spareX / 2
            }
        let y: Int =
            switch self {
            case .north, .northeast, .northwest: 0
            case .south, .southeast, .southwest: spareY
            default: spareY / 2
            }
        return (x, y)
    }
}
