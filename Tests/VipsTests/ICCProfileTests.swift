import Testing
import Vips

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct ICCProfileTests {
    // MARK: Real profiles, from Debian packages (the CI installs them; none is kept in the repository)

    /// Every sRGB profile that Debian ships: lcms' own (v2, 1024-entry curves, lcms' D65), colord's (v4, `para`
    /// type 3, D50 and `chad`), Ghostscript's (v2, D65, the ICC's exact colorants) and Argyll's copy of HP's
    /// "sRGB IEC61966-2.1" (v2, D65).
    @Test(arguments: [
        ("/usr/share/color/icc/sRGB.icc", "icc-profiles-free"),
        ("/usr/share/color/icc/colord/sRGB.icc", "colord-data"),
        ("/usr/share/color/icc/ghostscript/srgb.icc", "libgs-common"),
        ("/usr/share/color/argyll/ref/sRGB.icm", "argyll-ref"),
    ])
    func debianSRGBProfilesAreSRGB(path: String, package: String) throws {
        #expect(ICCProfile.isSRGB(try Self.profile(path, package)))
    }

    /// libvips' built-in `srgb`, the profile `icc_transform` converts to, is lcms' sRGB (the bytes of
    /// icc-profiles-free's sRGB.icc); its `p3` and `cmyk` are not sRGB.
    @Test func libvipsBuiltInProfiles() throws {
        func builtIn(_ name: String) throws -> [UInt8] {
            try VipsOperation.call("profile_load", ["name": .string(name)]).blob("profile")
        }
        #expect(ICCProfile.isSRGB(try builtIn("srgb")))
        #expect(!ICCProfile.isSRGB(try builtIn("p3")))
        #expect(!ICCProfile.isSRGB(try builtIn("cmyk")))
    }

    /// colord's display test profiles have sRGB's matrix and curves and a `vcgt` calibration table that lcms does
    /// not apply to images, so converting from them to sRGB changes nothing either.
    @Test(arguments: ["Bluish.icc", "Gamma5000K.icc", "Gamma6500K.icc"])
    func calibrationTablesAreNotColours(name: String) throws {
        #expect(ICCProfile.isSRGB(try Self.profile("/usr/share/color/icc/colord/" + name, "colord-data")))
    }

    /// Other spaces, some with sRGB's primaries (Rec. 709) or sRGB's curves (Display P3, swapped red and green),
    /// linear or extended sRGB, and profiles that are not RGB matrix/TRC profiles at all.
    @Test(arguments: [
        ("/usr/share/color/icc/colord/AdobeRGB1998.icc", "colord-data"),
        ("/usr/share/color/icc/colord/AppleRGB.icc", "colord-data"),
        ("/usr/share/color/icc/colord/ECI-RGBv2.icc", "colord-data"),
        ("/usr/share/color/icc/colord/PAL-RGB.icc", "colord-data"),
        ("/usr/share/color/icc/colord/SMPTE-C-RGB.icc", "colord-data"),
        ("/usr/share/color/icc/colord/ProPhotoRGB.icc", "colord-data"),
        ("/usr/share/color/icc/colord/Rec709.icc", "colord-data"),
        ("/usr/share/color/icc/colord/SwappedRedAndGreen.icc", "colord-data"),
        ("/usr/share/color/icc/colord/WideGamutRGB.icc", "colord-data"),
        ("/usr/share/color/icc/colord/Crayons.icc", "colord-data"),
        ("/usr/share/color/icc/compatibleWithAdobeRGB1998.icc", "icc-profiles-free"),
        ("/usr/share/color/icc/LStar-RGB.icc", "icc-profiles-free"),
        ("/usr/share/color/icc/CineonLog_M.icc", "icc-profiles-free"),
        ("/usr/share/color/icc/ITULab.icc", "icc-profiles-free"),
        ("/usr/share/color/icc/Gray.icc", "icc-profiles-free"),
        ("/usr/share/color/icc/ghostscript/a98.icc", "libgs-common"),
        ("/usr/share/color/icc/ghostscript/esrgb.icc", "libgs-common"),
        ("/usr/share/color/icc/ghostscript/scrgb.icc", "libgs-common"),
        ("/usr/share/color/icc/ghostscript/rommrgb.icc", "libgs-common"),
        ("/usr/share/color/icc/ghostscript/default_cmyk.icc", "libgs-common"),
        ("/usr/share/color/icc/ghostscript/sgray.icc", "libgs-common"),
        ("/usr/share/color/argyll/ref/ClayRGB1998.icm", "argyll-ref"),
        ("/usr/share/color/argyll/ref/DisplayP3.icm", "argyll-ref"),
        ("/usr/share/color/argyll/ref/Rec2020.icm", "argyll-ref"),
        ("/usr/share/color/argyll/ref/Rec709.icm", "argyll-ref"),
        ("/usr/share/color/argyll/ref/ProPhoto.icm", "argyll-ref"),
        ("/usr/share/color/argyll/ref/EBU3213_PAL.icm", "argyll-ref"),
        ("/usr/share/color/argyll/ref/SMPTE_RP145_NTSC.icm", "argyll-ref"),
        ("/usr/share/color/argyll/ref/lab2lab.icm", "argyll-ref"),
    ])
    func otherDebianProfilesAreNot(path: String, package: String) throws {
        #expect(!ICCProfile.isSRGB(try Self.profile(path, package)))
    }

    // MARK: Built profiles: sRGB, and one change at a time

    @Test(
        arguments: [
            (2, ProfileBuilder.table(count: 1024)), (2, ProfileBuilder.table(count: 4096)),
            (4, ProfileBuilder.table(count: 4096)), (4, ProfileBuilder.sRGBParametric),
            (2, ProfileBuilder.sRGBParametric),
            (4, ProfileBuilder.parametric(4, [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045, 0, 0])),
        ] as [(UInt8, [UInt8])])
    func builtSRGBProfilesAreSRGB(version: UInt8, curve: [UInt8]) {
        #expect(ICCProfile.isSRGB(ProfileBuilder.sRGB(version: version, curve: curve).bytes))
    }

    @Test func anyCollectionIsRead() {
        let bytes = ProfileBuilder.sRGB().bytes
        #expect(ICCProfile.isSRGB(([0, 0] + bytes)[2...]))
        #expect(ICCProfile.isSRGB(bytes.lazy.map { $0 }))
    }

    @Test func whitePoint() {
        var v2 = ProfileBuilder.sRGB(version: 2)
        v2["wtpt"] = ProfileBuilder.xyz(ProfileBuilder.d50)
        #expect(ICCProfile.isSRGB(v2.bytes))
        v2["wtpt"] = ProfileBuilder.xyz((0.9642, 1, 0.9))
        #expect(!ICCProfile.isSRGB(v2.bytes))
        var v4 = ProfileBuilder.sRGB(version: 4)
        v4["wtpt"] = ProfileBuilder.xyz(ProfileBuilder.d65)
        #expect(!ICCProfile.isSRGB(v4.bytes))
        v4["wtpt"] = nil
        #expect(!ICCProfile.isSRGB(v4.bytes))
    }

    /// A step of rounding (0.0001) is what separates the real variants; 0.001 is past the tolerance.
    @Test(arguments: ["rXYZ", "gXYZ", "bXYZ"])
    func colorants(signature: String) {
        for (change, isSRGB) in [(0.0001, true), (-0.0001, true), (0.001, false), (-0.001, false)] {
            var profile = ProfileBuilder.sRGB()
            var value = ProfileBuilder.sRGBColorants[signature]!
            value.1 += change
            profile[signature] = ProfileBuilder.xyz(value)
            #expect(ICCProfile.isSRGB(profile.bytes) == isSRGB, "\(signature) Y \(change)")
        }
        var unadapted = ProfileBuilder.sRGB(version: 2)
        unadapted["rXYZ"] = ProfileBuilder.xyz((0.4124, 0.2126, 0.0193))
        unadapted["gXYZ"] = ProfileBuilder.xyz((0.3576, 0.7152, 0.1192))
        unadapted["bXYZ"] = ProfileBuilder.xyz((0.1805, 0.0722, 0.9505))
        #expect(!ICCProfile.isSRGB(unadapted.bytes))
    }

    @Test func curvesThatAreNotSRGBs() {
        var wrongMiddle = (0..<1024).map { ProfileBuilder.sRGBLinear(Double($0) / 1023) }
        wrongMiddle[512] += 0.01
        let curves: [(String, [UInt8])] = [
            ("identity", ProfileBuilder.curv([])),
            ("gamma 2.2", ProfileBuilder.curv([UInt16(2.2 * 256)])),
            ("gamma 2.2 as para", ProfileBuilder.parametric(0, [2.2])),
            ("gamma 2.4 as para", ProfileBuilder.parametric(0, [2.4])),
            ("sRGB but a wrong middle", ProfileBuilder.curv(wrongMiddle.map(ProfileBuilder.uint16))),
            ("BT.709", ProfileBuilder.parametric(3, [1 / 0.45, 1 / 1.099, 0.099 / 1.099, 1 / 4.5, 0.081])),
            ("sRGB's with d = 0.1", ProfileBuilder.parametric(3, [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.1])),
            (
                "sRGB's with an offset",
                ProfileBuilder.parametric(4, [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045, 0.01, 0])
            ),
            ("all zero", ProfileBuilder.parametric(3, [0, 0, 0, 0, 0])),
        ]
        for (name, curve) in curves {
            #expect(!ICCProfile.isSRGB(ProfileBuilder.sRGB(curve: curve).bytes), "\(name), all channels")
            var one = ProfileBuilder.sRGB()
            one["gTRC"] = curve
            #expect(!ICCProfile.isSRGB(one.bytes), "\(name), green only")
        }
    }

    /// A table too short to follow sRGB's toe moves dark levels by more than half a level.
    @Test func shortTables() {
        #expect(!ICCProfile.isSRGB(ProfileBuilder.sRGB(curve: ProfileBuilder.table(count: 26)).bytes))
        #expect(ICCProfile.isSRGB(ProfileBuilder.sRGB(curve: ProfileBuilder.table(count: 256)).bytes))
    }

    /// lcms transforms through A2B0 (or D2B0) when a profile has one, so the matrix and curves would not decide.
    @Test(arguments: ["A2B0", "A2B1", "A2B2", "B2A0", "B2A1", "D2B0", "B2D0"])
    func lutTags(signature: String) {
        var profile = ProfileBuilder.sRGB()
        profile[signature] = Array("mft2".utf8) + [UInt8](repeating: 0, count: 48)
        #expect(!ICCProfile.isSRGB(profile.bytes))
    }

    @Test func header() {
        for (deviceClass, isSRGB) in [
            ("mntr", true), ("scnr", true), ("spac", true), ("link", false),
            ("abst", false), ("nmcl", false), ("prtr", false),
        ] {
            var profile = ProfileBuilder.sRGB()
            profile.deviceClass = deviceClass
            #expect(ICCProfile.isSRGB(profile.bytes) == isSRGB, "\(deviceClass)")
        }
        var gray = ProfileBuilder.sRGB()
        gray.colourSpace = "GRAY"
        var lab = ProfileBuilder.sRGB()
        lab.connectionSpace = "Lab "
        var v5 = ProfileBuilder.sRGB()
        v5.version = 5
        for profile in [gray, lab, v5] { #expect(!ICCProfile.isSRGB(profile.bytes)) }
        var signature = ProfileBuilder.sRGB().bytes
        signature[36] = UInt8(ascii: "X")
        #expect(!ICCProfile.isSRGB(signature))
    }

    @Test func missingAndMistypedTags() {
        for signature in ["rXYZ", "gXYZ", "bXYZ", "rTRC", "gTRC", "bTRC", "wtpt"] {
            var missing = ProfileBuilder.sRGB()
            missing[signature] = nil
            #expect(!ICCProfile.isSRGB(missing.bytes), "no \(signature)")
            var mistyped = ProfileBuilder.sRGB()
            mistyped[signature] = Array("desc".utf8) + [UInt8](repeating: 0, count: 16)
            #expect(!ICCProfile.isSRGB(mistyped.bytes), "\(signature) of another type")
        }
    }

    // MARK: Hostile bytes: "not sRGB", never a crash

    @Test func lyingSizesAndCounts() {
        let good = ProfileBuilder.sRGB(curve: ProfileBuilder.table(count: 1024)).bytes
        #expect(ICCProfile.isSRGB(good))
        let table = 132
        let edits: [(String, Int, UInt32)] = [
            ("size too large", 0, UInt32(good.count + 4)), ("size too small", 0, UInt32(good.count - 4)),
            ("size 0", 0, 0), ("tag count huge", 128, .max), ("tag count past the table", 128, 8),
            ("offset past the end", table + 4, UInt32(good.count)), ("offset at UInt32.max", table + 4, .max),
            ("length past the end", table + 8, UInt32(good.count)), ("length at UInt32.max", table + 8, .max),
        ]
        for (name, offset, value) in edits {
            #expect(!ICCProfile.isSRGB(ProfileBuilder.patching(good, at: offset, value)), "\(name)")
        }
        #expect(!ICCProfile.isSRGB(good + [0, 0, 0, 0]), "trailing bytes")
        let overflowing = ProfileBuilder.patching(
            ProfileBuilder.patching(good, at: table + 4, 0xFFFF_FFF0), at: table + 8, 0x20)
        #expect(!ICCProfile.isSRGB(overflowing), "offset + length overflowing 32 bits")
        let curveOffset = Int(ProfileBuilder.readUInt32(good, at: table + 12 * 4 + 4))
        #expect(!ICCProfile.isSRGB(ProfileBuilder.patching(good, at: curveOffset + 8, .max)), "curve count huge")
        #expect(!ICCProfile.isSRGB(ProfileBuilder.patching(good, at: curveOffset + 8, 1025)), "curve count + 1")
        let para = ProfileBuilder.sRGB().bytes
        let paraOffset = Int(ProfileBuilder.readUInt32(para, at: table + 12 * 4 + 4))
        #expect(!ICCProfile.isSRGB(ProfileBuilder.patching(para, at: paraOffset + 8, 0x0005_0000)), "para type 5")
        #expect(!ICCProfile.isSRGB(ProfileBuilder.patching(para, at: paraOffset + 8, 0xFFFF_0000)), "para type huge")
    }

    @Test func everyTruncationIsRefused() {
        let good = ProfileBuilder.sRGB(version: 2).bytes
        for count in 0..<good.count {
            #expect(!ICCProfile.isSRGB(good.prefix(count)), "\(count) of \(good.count) bytes")
        }
        #expect(!ICCProfile.isSRGB([UInt8]()))
    }

    /// The first of two tags with one signature is the one read, as lcms does.
    @Test func duplicateTags() {
        var profile = ProfileBuilder.sRGB()
        profile.tags.append((signature: "rXYZ", data: ProfileBuilder.xyz((0.5, 0.2, 0.0))))
        #expect(ICCProfile.isSRGB(profile.bytes))
        profile.tags.insert((signature: "gTRC", data: ProfileBuilder.curv([UInt16(2.2 * 256)])), at: 0)
        #expect(!ICCProfile.isSRGB(profile.bytes))
    }

    /// Random damage to a valid profile is answered, whatever the answer, without a trap.
    @Test func randomDamageNeverTraps() {
        let good = ProfileBuilder.sRGB(version: 2, curve: ProfileBuilder.table(count: 64)).bytes
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for _ in 0..<500 {
            var bytes = good
            for _ in 0...(next() % 4) { bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next()) }
            _ = ICCProfile.isSRGB(bytes)
        }
    }

    // MARK: Helpers

    /// The profile at `path`, which Debian's `package` installs.
    static func profile(_ path: String, _ package: String) throws -> [UInt8] {
        let file = try #require(
            fopen(path, "rb"), "\(path) is missing: install the Debian package \(package) (Makefile TEST_APT_PACKAGES)")
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while case let count = fread(&buffer, 1, buffer.count, file), count > 0 { bytes += buffer[..<count] }
        return bytes
    }
}

/// Assembles minimal RGB matrix/TRC profiles tag by tag, so that a test can change one thing in an sRGB profile.
struct ProfileBuilder {
    var version: UInt8 = 4
    var deviceClass = "mntr"
    var colourSpace = "RGB "
    var connectionSpace = "XYZ "
    var tags: [(signature: String, data: [UInt8])] = []

    static let d50 = (0.9642, 1.0, 0.8249)
    static let d65 = (0.9505, 1.0, 1.0891)
    /// The ICC's sRGB colorants (as Ghostscript's sRGB carries them).
    static let sRGBColorants = [
        "rXYZ": (0.436066, 0.222488, 0.013916), "gXYZ": (0.385147, 0.716873, 0.097076),
        "bXYZ": (0.143066, 0.060608, 0.714096),
    ]
    static let sRGBParametric = parametric(3, [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045])

    /// An sRGB profile: v2 with a D65 `wtpt` as HP's, v4 with D50; `curve` for all three channels.
    static func sRGB(version: UInt8 = 4, curve: [UInt8] = sRGBParametric) -> ProfileBuilder {
        var profile = ProfileBuilder(version: version)
        profile["wtpt"] = xyz(version == 2 ? d65 : d50)
        for signature in ["rXYZ", "gXYZ", "bXYZ"] { profile[signature] = xyz(sRGBColorants[signature]!) }
        for signature in ["rTRC", "gTRC", "bTRC"] { profile[signature] = curve }
        return profile
    }

    /// The data of the first tag `signature`; setting `nil` removes it, setting another value replaces it in place.
    subscript(signature: String) -> [UInt8]? {
        get { tags.first { $0.signature == signature }?.data }
        set {
            let index = tags.firstIndex { $0.signature == signature }
            switch (index, newValue) {
            case (let index?, let data?): tags[index].data = data
            case (let index?, nil): tags.remove(at: index)
            case (nil, let data?): tags.append((signature, data))
            case (nil, nil): break
            }
        }
    }

    /// The profile: header, tag table, then each tag's data at a 4-byte boundary.
    var bytes: [UInt8] {
        var data: [UInt8] = []
        var table = Self.uint32(UInt32(tags.count))
        let dataStart = 128 + 4 + 12 * tags.count
        for tag in tags {
            table +=
                Self.signature(tag.signature) + Self.uint32(UInt32(dataStart + data.count))
                + Self.uint32(UInt32(tag.data.count))
            data += tag.data + [UInt8](repeating: 0, count: (4 - tag.data.count % 4) % 4)
        }
        var header = [UInt8](repeating: 0, count: 128)
        header.replaceSubrange(0..<4, with: Self.uint32(UInt32(128 + table.count + data.count)))
        header[8] = version
        header[9] = version == 2 ? 0x10 : 0x40
        header.replaceSubrange(12..<16, with: Self.signature(deviceClass))
        header.replaceSubrange(16..<20, with: Self.signature(colourSpace))
        header.replaceSubrange(20..<24, with: Self.signature(connectionSpace))
        header.replaceSubrange(36..<40, with: Self.signature("acsp"))
        header.replaceSubrange(68..<80, with: Self.xyz(Self.d50)[8...])
        return header + table + data
    }

    static func xyz(_ value: (Double, Double, Double)) -> [UInt8] {
        signature("XYZ ") + [0, 0, 0, 0] + s15Fixed16(value.0) + s15Fixed16(value.1) + s15Fixed16(value.2)
    }

    static func curv(_ entries: [UInt16]) -> [UInt8] {
        signature("curv") + [0, 0, 0, 0] + uint32(UInt32(entries.count))
            + entries.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    /// A `curv` of `count` entries sampled from sRGB's transfer function.
    static func table(count: Int) -> [UInt8] {
        curv((0..<count).map { uint16(sRGBLinear(Double($0) / Double(count - 1))) })
    }

    static func parametric(_ function: UInt16, _ parameters: [Double]) -> [UInt8] {
        signature("para") + [0, 0, 0, 0] + [UInt8(function >> 8), UInt8(function & 0xFF), 0, 0]
            + parameters.flatMap(s15Fixed16)
    }

    /// IEC 61966-2-1's decoding, from an sRGB value to linear light.
    static func sRGBLinear(_ value: Double) -> Double {
        value <= 0.04045 ? value / 12.92 : pow((value + 0.055) / 1.055, 2.4)
    }

    static func uint16(_ fraction: Double) -> UInt16 { UInt16((min(max(fraction, 0), 1) * 65535).rounded()) }

    static func uint32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }

    static func s15Fixed16(_ value: Double) -> [UInt8] { uint32(UInt32(bitPattern: Int32((value * 65536).rounded()))) }

    static func signature(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func patching(_ bytes: [UInt8], at offset: Int, _ value: UInt32) -> [UInt8] {
        var bytes = bytes
        bytes.replaceSubrange(offset..<offset + 4, with: uint32(value))
        return bytes
    }

    static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
