public import RenditionCore

/// What Chromium sends in `Accept` for an image.
public let chromiumImageAccept = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"

/// The images the studio page shows of `plan` for one original: its public URL, each candidate format at
/// its stored form (`/card@avif/{key}`), each size variant at its public URL (`/card@800w/{key}`).
public func studioImages(_ plan: PipelinePlan) -> Int {
    1 + plan.formats.count + plan.variants.sizes.count - 1
}

/// The renditions a browser whose image `Accept` is `accept` makes by loading those images: the format it
/// negotiates at each size, and every candidate format at the base size.
public func studioRenditions(_ plan: PipelinePlan, accept: String = chromiumImageAccept) -> Set<RenditionForm> {
    let negotiated = plan.negotiate(accept: accept)
    return Set(plan.variants.sizes.map { RenditionForm(size: $0, format: negotiated) })
        .union(plan.formats.map { RenditionForm(format: $0.token) })
}

/// The renditions `rendition preview` makes of `plan` for one original, its own form included.
public func reportForms(_ plan: PipelinePlan) -> Int { plan.allForms.count }
