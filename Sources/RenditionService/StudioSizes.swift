import ObjectStorage
import RenditionCore
import RenditionPreview

extension RenditionRouter {
    /// The studio looks up at most this many renditions' bytes per page (the first in page order), so a
    /// page stays quick on a remote store: 50 originals through the shipped presets are 1,100.
    static let studioLookupLimit = 1_200
}

extension RenditionService {
    /// The studio looks up this many renditions at once.
    static let studioLookupWidth = 32

    /// The bytes of the first `limit` of `renditionKeys` (`card@avif/photos/cat.jpg`) that the rendition
    /// store holds, made by the current version of their preset. A `HEAD` each, straight to the store
    /// (not the memory cache, not the stale counter: looking is not serving); a key that does not name a
    /// rendition, or a lookup that fails, reads as not stored.
    func storedSizes(_ renditionKeys: [String], limit: Int) async -> StudioPage.Stored {
        let keys = Array(renditionKeys.prefix(limit))
        var stored = StudioPage.Stored(lookedUp: Set(keys))
        await withTaskGroup(of: (String, Int?).self) { group in
            var next = 0
            func submit() {
                guard next < keys.count else { return }
                let renditionKey = keys[next]
                next += 1
                group.addTask { (renditionKey, await self.storedSize(renditionKey)) }
            }
            for _ in 0..<Self.studioLookupWidth { submit() }
            for await (renditionKey, size) in group {
                if let size { stored.bytes[renditionKey] = size }
                submit()
            }
        }
        return stored
    }

    private func storedSize(_ renditionKey: String) async -> Int? {
        guard let slash = renditionKey.firstIndex(of: "/"),
            let address = try? address(
                segment: String(renditionKey[..<slash]), key: String(renditionKey[renditionKey.index(after: slash)...])),
            let metadata = try? await renditions.head(address.renditionKey),
            metadata.userMetadata[RenditionMetadataKey.fingerprint] == address.plan.fingerprint
        else { return nil }
        return metadata.size
    }
}
