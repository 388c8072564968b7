/// Input surgery on PNG files: the text chunks are removed before libpng sees them.
///
/// libpng inflates every `zTXt`/`iTXt` chunk in full (up to 50 MB each, libvips' chunk limit) and libvips
/// keeps the text as image metadata, so a 550 KB PNG of twelve compressed comments took 2.2 GB of memory
/// and most of a minute before a single pixel was decoded. Rendition never uses PNG text (metadata is
/// stripped from renditions, and `keep` works on EXIF, XMP and ICC), so the chunks go before decoding.
public enum PNGChunks {
    /// The text chunk types: Latin-1 text, compressed text, international (optionally compressed) text.
    public static let text: Set<String> = ["tEXt", "zTXt", "iTXt"]

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// `bytes` without their text chunks. Bytes that are not a PNG, or whose chunk structure breaks off
    /// (a length past the end of the file), are copied from that point on unchanged: libpng then reports
    /// the damage as it would have.
    public static func removingText(from bytes: [UInt8]) -> [UInt8] {
        guard bytes.count > 8, bytes[0..<8].elementsEqual(signature) else { return bytes }
        var output: [UInt8]? = nil
        var offset = 8
        while offset + 12 <= bytes.count {
            let length =
                Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8
                | Int(bytes[offset + 3])
            let end = offset + 12 + length
            guard end <= bytes.count else { break }
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            if text.contains(type) {
                if output == nil { output = Array(bytes[0..<offset]) }
            } else {
                output?.append(contentsOf: bytes[offset..<end])
            }
            offset = end
        }
        guard var output else { return bytes }
        output.append(contentsOf: bytes[offset...])
        return output
    }
}
