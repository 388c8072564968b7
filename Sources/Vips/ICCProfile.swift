#if canImport(Glibc)
    internal import Glibc
#endif

/// What an embedded ICC profile says about an image's colours.
public enum ICCProfile {
    /// Whether `bytes` is a well-formed RGB display, input or colour-space profile whose colorants, white point and
    /// tone curves are sRGB's, so that transforming an image from it to sRGB can be skipped: the transform would move
    /// tones by at most half an 8-bit level, and colours only as far as real sRGB profiles differ from one another
    /// (about one level, in saturated colours).
    ///
    /// Only the profile's data decides, never its description: the header must declare RGB data with an XYZ
    /// connection space; `rXYZ`, `gXYZ` and `bXYZ` must be sRGB's primaries adapted to D50 (within
    /// `colorantTolerance`); `wtpt` must be D50, or, in a version 2 profile, D65; and `rTRC`, `gTRC` and `bTRC`
    /// (`curv` tables or gammas, or `para` functions) must follow the sRGB transfer function within
    /// `curveTolerance` over the whole range. A profile with any LUT tag (`A2Bx`, `B2Ax`, `D2Bx`, `B2Dx`)
    /// answers `false` even when its matrix and curves are sRGB's, because lcms transforms through the LUT, which
    /// is not inspected. Malformed or hostile bytes (a lying size, a tag outside the profile) answer `false`.
    ///
    /// Any collection is accepted (a blob from libvips, a slice of a file); it is copied once into an array, which
    /// costs nothing for an array and little for a profile (a few kilobytes; the largest real ones, with LUTs, are a
    /// few hundred).
    public static func isSRGB(_ bytes: some Collection<UInt8>) -> Bool {
        Inspection(Array(bytes))?.isSRGB ?? false
    }

    /// The largest difference allowed between a colorant's X, Y or Z and sRGB's: 0.0005, about 33 steps of
    /// s15Fixed16. The sRGB profiles in Debian differ from the ICC's values by up to 0.00026 (lcms' own sRGB, which
    /// libvips builds in, adapts with a D65 of 6504 K); the nearest other spaces (PAL, SMPTE-C) differ by 0.019.
    /// sRGB profiles that differ this little already disagree by about one 8-bit level in lcms' hands, in saturated
    /// colours whose near-black channel the linear toe of sRGB's curve magnifies 12.92 times.
    static let colorantTolerance = 0.0005

    /// The largest difference allowed between a tone curve's result and sRGB's, in 8-bit output levels: 0.5, below
    /// the rounding error of an 8-bit transform through lcms itself.
    static let curveTolerance = 0.5
}

/// A CIE XYZ triple, as an ICC `XYZType` holds it.
struct XYZ: Equatable {
    var x, y, z: Double

    /// sRGB's primaries adapted to D50 by Bradford, as the ICC's sRGB profiles carry them.
    static let sRGBColorants = [
        XYZ(x: 0.436_066, y: 0.222_488, z: 0.013_916),
        XYZ(x: 0.385_147, y: 0.716_873, z: 0.097_076),
        XYZ(x: 0.143_066, y: 0.060_608, z: 0.714_096),
    ]
    static let d50 = XYZ(x: 0.9642, y: 1.0, z: 0.8249)
    static let d65 = XYZ(x: 0.9505, y: 1.0, z: 1.0891)

    /// The largest of the three differences to `other`.
    func distance(to other: XYZ) -> Double {
        max(abs(x - other.x), abs(y - other.y), abs(z - other.z))
    }
}

/// A tone curve (`curv` or `para`), from device value to linear light, both in [0, 1].
enum ToneCurve: Equatable {
    case gamma(Double)
    case table([Double])
    /// An ICC parametric curve: `function` 0…4 with its parameters g, a, b, c, d, e, f (as many as it has).
    case parametric(function: Int, parameters: [Double])

    func callAsFunction(_ x: Double) -> Double {
        let y: Double
        switch self {
        case .gamma(let g):
            y = pow(x, g)
        case .table(let entries):
            let position = x * Double(entries.count - 1)
            let index = min(max(Int(position), 0), entries.count - 2)
            let fraction = position - Double(index)
            y = entries[index] + (entries[index + 1] - entries[index]) * fraction
        case .parametric(let function, let p):
            let g = p[0]
            func power(_ base: Double) -> Double { pow(max(base, 0), g) }
            switch function {
            case 0: y = pow(x, g)
            case 1: y = x >= -p[2] / p[1] ? power(p[1] * x + p[2]) : 0
            case 2: y = x >= -p[2] / p[1] ? power(p[1] * x + p[2]) + p[3] : p[3]
            case 3: y = x >= p[4] ? power(p[1] * x + p[2]) : p[3] * x
            default: y = x >= p[4] ? power(p[1] * x + p[2]) + p[5] : p[3] * x + p[6]
            }
        }
        // lcms clips curves to the encodable range; NaN (0/0 parameters) stays NaN and fails every comparison.
        return y.isNaN ? y : min(max(y, 0), 1)
    }

    /// The largest difference, in 8-bit levels, between `x` and sRGB's encoding of this curve's `x`: how far an image
    /// would move if the curve were taken as sRGB's. Table curves are also checked at every entry, where a single
    /// wrong entry shows.
    var errorInLevels: Double {
        var inputs = (0...1024).map { Double($0) / 1024 }
        if case .table(let entries) = self {
            inputs += (0..<entries.count).map { Double($0) / Double(entries.count - 1) }
        }
        var worst = 0.0
        for x in inputs {
            let error = abs(Self.sRGBEncoded(self(x)) - x) * 255
            if error.isNaN { return .infinity }
            worst = max(worst, error)
        }
        return worst
    }

    /// sRGB's encoding of linear light (IEC 61966-2-1), the inverse of its transfer function.
    static func sRGBEncoded(_ linear: Double) -> Double {
        linear <= 0.003_130_8 ? 12.92 * linear : 1.055 * pow(linear, 1 / 2.4) - 0.055
    }
}

/// The parts of a matrix/TRC profile that decide whether it is sRGB, read from well-formed bytes.
struct Inspection {
    let majorVersion: UInt8
    let whitePoint: XYZ
    let colorants: [XYZ]
    let curves: [ToneCurve]
    /// Whether a LUT tag is present, which lcms would use instead of the matrix and curves.
    let hasLUT: Bool

    /// The largest difference between a colorant's X, Y or Z and sRGB's.
    var colorantError: Double {
        zip(colorants, XYZ.sRGBColorants).map { $0.distance(to: $1) }.max() ?? .infinity
    }

    /// The largest error of the three tone curves, in 8-bit levels.
    var curveError: Double {
        // The three curves are usually one; evaluating it once keeps a check well under a millisecond.
        var distinct: [ToneCurve] = []
        for curve in curves where !distinct.contains(curve) { distinct.append(curve) }
        return distinct.map(\.errorInLevels).max() ?? .infinity
    }

    /// v4 requires a D50 white; v2 sRGB profiles (HP's) carry D65 with colorants already adapted to D50, and lcms
    /// ignores `wtpt` for the perceptual and relative intents.
    var whitePointIsSRGB: Bool {
        // lcms' own v2 sRGB carries the D65 of 6504 K, 0.0008 from the standard's in Z; D50 and D65 differ by 0.26.
        let tolerance = 0.002
        return whitePoint.distance(to: .d50) <= tolerance
            || (majorVersion == 2 && whitePoint.distance(to: .d65) <= tolerance)
    }

    var isSRGB: Bool {
        !hasLUT && whitePointIsSRGB && colorantError <= ICCProfile.colorantTolerance
            && curveError <= ICCProfile.curveTolerance
    }

    /// Reads `bytes`, or answers `nil` when they are not a well-formed RGB matrix/TRC profile.
    init?(_ bytes: [UInt8]) {
        let reader = Reader(bytes: bytes)
        guard reader.int(at: 0) == bytes.count, reader.uint32(at: 36) == fourCC("acsp"),
            let version = reader.uint8(at: 8), version == 2 || version == 4,
            let deviceClass = reader.uint32(at: 12),
            [fourCC("mntr"), fourCC("scnr"), fourCC("spac")].contains(deviceClass),
            reader.uint32(at: 16) == fourCC("RGB "), reader.uint32(at: 20) == fourCC("XYZ "),
            let count = reader.int(at: 128), count <= (bytes.count - 132) / 12
        else { return nil }
        var tags: [UInt32: Reader] = [:]
        for entry in 0..<count {
            let at = 132 + 12 * entry
            guard let signature = reader.uint32(at: at), let offset = reader.int(at: at + 4),
                let length = reader.int(at: at + 8), let data = reader.slice(offset, length)
            else { return nil }
            // lcms, like the ICC, reads the first of duplicate tags.
            if tags[signature] == nil { tags[signature] = data }
        }
        let lutPrefixes = ["A2B", "B2A", "D2B", "B2D"].map { fourCC($0 + "0") >> 8 }
        hasLUT = tags.keys.contains { lutPrefixes.contains($0 >> 8) }
        guard let white = tags[fourCC("wtpt")]?.xyz(),
            let red = tags[fourCC("rXYZ")]?.xyz(), let green = tags[fourCC("gXYZ")]?.xyz(),
            let blue = tags[fourCC("bXYZ")]?.xyz(),
            let redCurve = tags[fourCC("rTRC")]?.curve(), let greenCurve = tags[fourCC("gTRC")]?.curve(),
            let blueCurve = tags[fourCC("bTRC")]?.curve()
        else { return nil }
        majorVersion = version
        whitePoint = white
        colorants = [red, green, blue]
        curves = [redCurve, greenCurve, blueCurve]
    }
}

/// A four-character signature as the big-endian number ICC stores.
private func fourCC(_ text: String) -> UInt32 {
    text.utf8.reduce(0) { $0 << 8 | UInt32($1) }
}

/// Bounds-checked big-endian reads from a part of a profile: every read outside it answers `nil`.
private struct Reader {
    let bytes: [UInt8]
    var range: Range<Int>

    init(bytes: [UInt8]) {
        self.bytes = bytes
        range = bytes.indices
    }

    private init(bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        self.range = range
    }

    /// `length` bytes from `offset` (relative to this part), or `nil` when they do not all lie inside it.
    func slice(_ offset: Int, _ length: Int) -> Reader? {
        // Written so that neither the check nor its arithmetic can overflow.
        guard offset >= 0, length >= 0, offset <= range.count, length <= range.count - offset else { return nil }
        return Reader(bytes: bytes, range: range.lowerBound + offset..<range.lowerBound + offset + length)
    }

    func uint8(at offset: Int) -> UInt8? {
        slice(offset, 1).map { bytes[$0.range.lowerBound] }
    }

    func uint16(at offset: Int) -> UInt16? {
        slice(offset, 2).map { UInt16(bytes[$0.range.lowerBound]) << 8 | UInt16(bytes[$0.range.lowerBound + 1]) }
    }

    func uint32(at offset: Int) -> UInt32? {
        guard let high = uint16(at: offset), let low = uint16(at: offset + 2) else { return nil }
        return UInt32(high) << 16 | UInt32(low)
    }

    /// A `uInt32Number` as an `Int`; `nil` where it does not fit (32-bit platforms), so that nothing traps.
    func int(at offset: Int) -> Int? {
        uint32(at: offset).flatMap { Int(exactly: $0) }
    }

    func s15Fixed16(at offset: Int) -> Double? {
        uint32(at: offset).map { Double(Int32(bitPattern: $0)) / 65536 }
    }

    /// This part as an `XYZType` holding one XYZ.
    func xyz() -> XYZ? {
        guard uint32(at: 0) == fourCC("XYZ "), let x = s15Fixed16(at: 8), let y = s15Fixed16(at: 12),
            let z = s15Fixed16(at: 16)
        else { return nil }
        return XYZ(x: x, y: y, z: z)
    }

    /// This part as a `curveType` or `parametricCurveType`.
    func curve() -> ToneCurve? {
        switch uint32(at: 0) {
        case fourCC("curv"):
            guard let count = int(at: 8), count <= (range.count - 12) / 2 else { return nil }
            switch count {
            case 0: return .gamma(1)
            case 1: return uint16(at: 12).map { .gamma(Double($0) / 256) }
            default: return .table((0..<count).compactMap { uint16(at: 12 + 2 * $0).map { Double($0) / 65535 } })
            }
        case fourCC("para"):
            let parameterCounts = [1, 3, 4, 5, 7]
            guard let function = uint16(at: 8).map(Int.init), function < parameterCounts.count else { return nil }
            let parameters = (0..<parameterCounts[function]).compactMap { s15Fixed16(at: 12 + 4 * $0) }
            guard parameters.count == parameterCounts[function] else { return nil }
            return .parametric(function: function, parameters: parameters)
        default:
            return nil
        }
    }
}
