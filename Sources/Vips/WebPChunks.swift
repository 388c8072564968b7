/// Metadata surgery on WebP files (RIFF containers).
///
/// libvips 8.14's WebP saver writes an EXIF chunk even with `strip` set (it rebuilds EXIF from the
/// image's resolution and orientation first), so metadata chunks are removed here after saving.
public enum WebPChunks {
    /// Chunk names of the metadata a WebP file can carry.
    public static let exif = "EXIF"
    public static let xmp = "XMP "
    public static let icc = "ICCP"

    /// `bytes` without the chunks named in `names`, with the VP8X feature flags and RIFF size updated.
    /// Returns `bytes` unchanged if they are not a well-formed extended WebP file.
    public static func removing(_ names: Set<String>, from bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 30, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WEBP".utf8),
            bytes[12..<16].elementsEqual("VP8X".utf8)
        else { return bytes }
        var output = Array(bytes[0..<12])
        var offset = 12
        while offset + 8 <= bytes.count {
            let name = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            let size =
                Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6]) << 16 | Int(
                    bytes[offset + 7]) << 24
            let end = offset + 8 + size + (size & 1)
            guard end <= bytes.count || offset + 8 + size == bytes.count else { return bytes }
            if !names.contains(name) { output += bytes[offset..<min(end, bytes.count)] }
            offset = end
        }
        // VP8X flags live in the first byte of its payload.
        var flags = output[20]
        if names.contains(icc) { flags &= ~0x20 }
        if names.contains(exif) { flags &= ~0x08 }
        if names.contains(xmp) { flags &= ~0x04 }
        output[20] = flags
        let riffSize = UInt32(output.count - 8)
        for index in 0..<4 { output[4 + index] = UInt8((riffSize >> (8 * UInt32(index))) & 0xFF) }
        return output
    }
}
