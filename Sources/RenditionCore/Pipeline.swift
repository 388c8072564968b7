internal import Crypto
internal import Vips

/// The stages a build of Rendition knows, in the order `rendition stages` lists them. Registration is
/// explicit: the catalog module builds one with every stage module it links.
public struct StageRegistry: Sendable {
    public let stages: [any Stage.Type]

    public init(_ stages: [any Stage.Type]) {
        precondition(Set(stages.map { $0.name }).count == stages.count, "two stages share a name")
        self.stages = stages
    }

    public func stage(named name: String) -> (any Stage.Type)? {
        stages.first { $0.name == name }
    }
}

/// Rules for preset names, which are the first path segment of public URLs.
public enum PresetName {
    /// Path segments the service uses for itself; no preset may take them. The router's route table is
    /// the source (`RenditionRouter.reservedSegments`, which this module cannot see); a test keeps the two
    /// equal.
    public static let reserved: Set<String> = [
        "_render", "render", "healthz", "readyz", "metrics", "studio", "favicon.ico", "robots.txt",
    ]

    /// Why `name` cannot be a preset name, or `nil` when it can.
    public static func problem(with name: String) -> String? {
        if reserved.contains(name) {
            return
                "\"\(name)\" is reserved for the service's own routes (\(reserved.sorted().joined(separator: ", "))); rename the file"
        }
        let allowed = name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        guard allowed, let first = name.utf8.first, first != UInt8(ascii: "_"), first != UInt8(ascii: "."),
            first != UInt8(ascii: "-"), name.utf8.count <= 64
        else {
            return
                "\"\(name)\" is not a valid preset name: use 1–64 lowercase letters, digits, '-', '_' or '.', starting with a letter or digit"
        }
        return nil
    }
}

/// Service-wide ceilings that every plan must stay under.
public struct ServiceLimits: Sendable, Hashable {
    /// The most pixels (width × height of the decoded frame) any preset may accept. Default 50 million.
    public var maxInputPixels: Int

    public init(maxInputPixels: Int = 50_000_000) {
        self.maxInputPixels = maxInputPixels
    }
}

/// One stage of a plan as written and resolved, for display.
public struct PlannedStep: Sendable {
    public let name: String
    /// Every option with its value (written or default).
    public let options: [(name: String, value: OptionValue)]
    public let location: SpecLocation
}

/// A transform of a plan with the step it was written as.
public struct PlannedTransform: Sendable {
    public let step: PlannedStep
    public let stage: any TransformStage
    /// The checked options the stage was built from, which size variants scale.
    let options: StageOptions
}

/// A pipeline file, checked and resolved: immutable, shareable across renders, and fingerprinted.
public struct PipelinePlan: Sendable {
    /// The preset name (the file name without extension).
    public let name: String
    public let summary: String?
    /// The file the plan came from.
    public let source: String
    /// The transforms, in order, each with its step.
    public let transforms: [PlannedTransform]
    /// The output stage and its step.
    public let output: any OutputStage
    public let outputStep: PlannedStep
    /// What the decoder should do, gathered from the stages.
    public let hints: LoadHints
    /// Seconds a rendition may be cached; 14 days unless the file says otherwise.
    public let maxAge: Int
    /// The most input pixels this preset accepts.
    public let maxInputPixels: Int
    /// SHA-256 (hex) of everything that decides the rendition's bytes: stages, resolved options and the
    /// decoder policy. Equal plans render equal bytes; the name, cache and limits do not count.
    public let fingerprint: String
    /// Which of the preset's renditions this plan makes. A preset's own plan is its base size, in its first
    /// format when it negotiates.
    public let form: RenditionForm
    /// The size variants the preset declares.
    public let variants: Variants
    /// The formats the preset chooses from per request, best first (`format: auto`); empty for one format.
    public let formats: [OutputFormat]
    /// The plans of the preset's other forms (every size in every format), by form; empty in those plans.
    let forms: [RenditionForm: PipelinePlan]

    /// Every stage, in order, the output stage last.
    public var steps: [PlannedStep] { transforms.map(\.step) + [outputStep] }

    /// The `Cache-Control` value renditions of this preset are stored with.
    public var cacheControl: String { "public, max-age=\(maxAge)" }

    /// The geometry after each transform for an input with this header, and the shrink-on-load factor
    /// the decoder will use. A scale computed from an upper-bound size (after `trim`) could ask for more
    /// pixels than the decoder would then give, so such a plan decodes at full size.
    public func predict(for input: InputInfo) -> (steps: [ImageGeometry], shrink: Int) {
        var geometry = ImageGeometry(width: input.width, height: input.height, orientation: input.orientation)
        var steps: [ImageGeometry] = []
        var scaledFromAnUpperBound = false
        for transform in transforms {
            let before = geometry
            geometry = transform.stage.predict(geometry)
            if before.isUpperBound, geometry.scale != before.scale { scaledFromAnUpperBound = true }
            steps.append(geometry)
        }
        let shrink =
            hints.shrinkOnLoad && input.format.supportsShrinkOnLoad && !scaledFromAnUpperBound
            ? Self.shrinkFactor(forScale: geometry.scale) : 1
        return (steps, shrink)
    }

    /// The largest of 8, 4, 2 that still leaves the decoded image at least the output size; 1 when the plan
    /// shrinks less than 2×.
    ///
    /// JPEG shrink-on-load scales in the DCT domain (and WebP's in libwebp's scaler), a proper downscale, not
    /// the nearest-pixel block shrink libvips' `thumbnail` guards against by leaving a factor of two for its
    /// resampler. Measured on photos (`make bench`): decoding 5120×2880 at 1/8 instead of 1/4 for a 400 px
    /// rendition costs 0.003 SSIM before encoding, nothing measurable after WebP q80, and saves a quarter of
    /// the CPU; the resampler still does the last, smaller step.
    public static func shrinkFactor(forScale scale: Double) -> Int {
        guard scale > 0, scale < 1 else { return 1 }
        let reduction = 1 / scale
        return [8, 4, 2].first { Double($0) <= reduction } ?? 1
    }
}

/// Turns pipeline documents into plans, collecting every problem instead of stopping at the first.
///
/// Planning runs in phases, each adding to one list of problems: the file's top-level keys, then each stage
/// and its options, then the order rules (from stage roles), then the load hints and the fingerprint.
public struct Planner: Sendable {
    public let registry: StageRegistry
    public let limits: ServiceLimits

    public init(registry: StageRegistry, limits: ServiceLimits = ServiceLimits()) {
        self.registry = registry
        self.limits = limits
    }

    static let topLevelKeys = ["description", "stages", "variants", "cache", "limits", "input"]

    /// The top-level settings of a file, other than its stages.
    struct Settings {
        var summary: String?
        var stages: SpecNode?
        var maxAge = 1_209_600
        var maxInputPixels: Int
        var failOn = FailOn.warning
        var variants = Variants()
        /// Where `variants:` was written, if it was.
        var variantsLocation: SpecLocation?
    }

    /// A stage built from its entry, with the step it was written as and the options it was built from.
    typealias Built = (step: PlannedStep, stage: any Stage, options: StageOptions)

    /// Plans the document of preset `name`, read from `source`.
    public func plan(name: String, document: SpecNode, source: String) -> Result<PipelinePlan, PipelineProblems> {
        var problems: [PipelineProblem] = []
        if let problem = PresetName.problem(with: name) {
            problems.append(PipelineProblem(SpecLocation(file: source, line: 1, column: 1), "", problem))
        }
        guard let settings = readTopLevel(document, into: &problems) else {
            return .failure(PipelineProblems(problems))
        }
        guard let stagesNode = settings.stages else {
            problems.append(
                PipelineProblem(document.location, "stages", "missing; list the stages, ending with \(outputNames)"))
            return .failure(PipelineProblems(problems))
        }
        guard case .sequence(let items, let stagesLocation) = stagesNode else {
            problems.append(
                PipelineProblem(stagesNode.location, "stages", "expected a list of stages, got \(stagesNode.found)"))
            return .failure(PipelineProblems(problems))
        }
        let built = buildStages(items, into: &problems)
        let ordered = checkOrder(built, complete: built.count == items.count, at: stagesLocation, into: &problems)
        guard problems.isEmpty, let ordered else { return .failure(PipelineProblems(problems)) }
        let sizes = sizedTransforms(ordered.transforms, settings: settings, into: &problems)
        guard problems.isEmpty else { return .failure(PipelineProblems(problems)) }

        let (outputStep, output) = ordered.output
        let outputs: [(format: OutputFormat?, step: PlannedStep, stage: any OutputStage)] =
            output.candidates.isEmpty
            ? [(nil, outputStep, output)]
            : output.candidates.map {
                (
                    OutputFormat(token: $0.stage.formatToken, mediaType: $0.stage.mediaType),
                    PlannedStep(name: outputStep.name, options: $0.options, location: outputStep.location), $0.stage
                )
            }
        let hints = Self.hints(for: built, failOn: settings.failOn)
        let formats = output.candidates.isEmpty ? [] : outputs.compactMap(\.format)
        func plan(
            _ size: RenditionForm.Size, _ transforms: [PlannedTransform],
            _ output: (format: OutputFormat?, step: PlannedStep, stage: any OutputStage),
            forms: [RenditionForm: PipelinePlan] = [:]
        ) -> PipelinePlan {
            PipelinePlan(
                name: name, summary: settings.summary, source: source, transforms: transforms,
                output: output.stage, outputStep: output.step, hints: hints,
                maxAge: settings.maxAge, maxInputPixels: settings.maxInputPixels,
                fingerprint: Self.fingerprint(
                    of: transforms.map { ($0.step, $0.stage) } + [(output.step, output.stage)], failOn: settings.failOn),
                form: RenditionForm(size: size, format: output.format?.token), variants: settings.variants,
                formats: formats, forms: forms)
        }
        var forms: [RenditionForm: PipelinePlan] = [:]
        for (size, transforms) in sizes {
            for output in outputs {
                let made = plan(size, transforms, output)
                forms[made.form] = made
            }
        }
        let base = forms.removeValue(forKey: RenditionForm(size: .base, format: outputs[0].format?.token))!
        return .success(plan(.base, base.transforms, outputs[0], forms: forms))
    }

    /// Phase 4b: the transforms of every size the preset declares, the base first. A variant scales the
    /// sizes in output pixels (``Stage/scalesWithOutput(_:)``) of every stage from the first one that sets the
    /// output size; `@{W}w` sets that stage's width to W and scales the rest by W over its width.
    func sizedTransforms(
        _ transforms: [PlannedTransform], settings: Settings, into problems: inout [PipelineProblem]
    ) -> [(RenditionForm.Size, [PlannedTransform])] {
        let sizes = settings.variants.sizes
        guard sizes.count > 1, let location = settings.variantsLocation else { return [(.base, transforms)] }
        guard let anchor = transforms.firstIndex(where: { $0.stage.outputSize != nil }),
            let size = transforms[anchor].stage.outputSize
        else {
            problems.append(
                PipelineProblem(
                    location, "variants",
                    "needs a stage that sets the output size (resize); a variant scales the sizes it sets"))
            return []
        }
        if !settings.variants.widths.isEmpty, size.width == nil {
            problems.append(
                PipelineProblem(
                    location, "variants.widths",
                    "\(transforms[anchor].step.name) sets no width, so there is none to vary; give it a width, or use densities"
                ))
            return []
        }
        var result: [(RenditionForm.Size, [PlannedTransform])] = [(.base, transforms)]
        for variant in sizes.dropFirst() {
            let factor: Double
            switch variant {
            case .base: continue
            case .width(let width): factor = Double(width) / Double(size.width!)
            case .density(let density): factor = Double(density)
            }
            var scaled = Array(transforms[..<anchor])
            for transform in transforms[anchor...] {
                var values: [String: OptionValue] = [:]
                for (option, value) in transform.options.resolved where transform.stage.scalesWithOutput(option) {
                    values[option] = Self.scale(value, by: factor)
                }
                switch transform.options.replacing(values) {
                case .failure(let problem):
                    problems.append(
                        PipelineProblem(
                            location, "variants",
                            "\(variant.suffix.dropFirst()) makes \(problem.path) \(problem.message); lower the variant")
                    )
                    return []
                case .success(let options):
                    do {
                        let stage = try type(of: transform.stage).init(options: options)
                        let step = PlannedStep(
                            name: transform.step.name,
                            options: options.resolved(filling: stage.defaultValue(for:)).filter {
                                stage.applies($0.name)
                            },
                            location: transform.step.location)
                        scaled.append(PlannedTransform(step: step, stage: stage, options: options))
                    } catch {
                        problems.append(
                            PipelineProblem(
                                location, "variants",
                                "\(variant.suffix.dropFirst()) does not plan: \(error); lower the variant"))
                        return []
                    }
                }
            }
            result.append((variant, scaled))
        }
        return result
    }

    /// `value` times `factor`, in whole pixels when it was whole.
    static func scale(_ value: OptionValue, by factor: Double) -> OptionValue {
        switch value {
        case .integer(let pixels): .integer(Int((Double(pixels) * factor).rounded()))
        case .number(let pixels):
            pixels == pixels.rounded() ? .number((pixels * factor).rounded()) : .number(pixels * factor)
        default: value
        }
    }

    /// Phase 1: the document's top-level keys. `nil` when the document is not a mapping at all.
    func readTopLevel(_ document: SpecNode, into problems: inout [PipelineProblem]) -> Settings? {
        guard case .mapping(let entries, _) = document else {
            problems.append(
                PipelineProblem(
                    document.location, "",
                    "expected a mapping with \(Self.topLevelKeys.joined(separator: ", ")), got \(document.found)"))
            return nil
        }
        var settings = Settings(maxInputPixels: limits.maxInputPixels)
        var seen: Set<String> = []
        for entry in entries {
            if !seen.insert(entry.key).inserted {
                problems.append(PipelineProblem(entry.keyLocation, entry.key, "appears twice; keep one"))
                continue
            }
            switch entry.key {
            case "description":
                if case .scalar(let text, _) = entry.value {
                    settings.summary = text
                } else {
                    problems.append(
                        PipelineProblem(entry.value.location, "description", "expected text, got \(entry.value.found)"))
                }
            case "stages":
                settings.stages = entry.value
            case "variants":
                settings.variantsLocation = entry.keyLocation
                readSection(entry, keys: ["widths", "densities"], into: &problems) { key, node in
                    let widths = key == "widths"
                    let range = widths ? Variants.widthRange : Variants.densityRange
                    let most = widths ? Variants.maxWidths : Variants.maxDensities
                    let expectation =
                        "a list of at most \(most) \(widths ? "widths" : "densities"), each a whole number from \(range.lowerBound) to \(range.upperBound)"
                    guard case .sequence(let items, _) = node, !items.isEmpty, items.count <= most else {
                        return "expected \(expectation), got \(node.found)\(node.count.map { " of \($0)" } ?? "")"
                    }
                    var values: [Int] = []
                    for item in items {
                        guard case .scalar(let text, _) = item, let value = Int(text), range.contains(value) else {
                            return "expected \(expectation), got \(item.found)"
                        }
                        guard !values.contains(value) else { return "lists \(value) twice; keep one" }
                        values.append(value)
                    }
                    if widths { settings.variants.widths = values } else { settings.variants.densities = values }
                    return nil
                }
            case "cache":
                readSection(entry, keys: ["maxAge"], into: &problems) { key, node in
                    guard case .scalar(let text, _) = node, let seconds = Quantity.seconds(text) else {
                        return "expected a duration such as 3600, 90s, 15m, 12h, 14d or 2w, got \(node.found)"
                    }
                    settings.maxAge = seconds
                    return nil
                }
            case "limits":
                readSection(entry, keys: ["maxInputPixels"], into: &problems) { key, node in
                    guard case .scalar(let text, _) = node, let count = Quantity.count(text) else {
                        return "expected a pixel count such as 50M, 2500K or 12000000, got \(node.found)"
                    }
                    guard count <= limits.maxInputPixels else {
                        return
                            "\(text) is above the service-wide limit of \(Quantity.describe(count: limits.maxInputPixels)); presets can only lower it"
                    }
                    settings.maxInputPixels = count
                    return nil
                }
            case "input":
                readSection(entry, keys: ["failOn"], into: &problems) { key, node in
                    guard case .scalar(let text, _) = node, let value = FailOn(rawValue: text) else {
                        return
                            "expected one of \(FailOn.allCases.map(\.rawValue).joined(separator: ", ")), got \(node.found)"
                    }
                    settings.failOn = value
                    return nil
                }
            default:
                problems.append(
                    PipelineProblem(
                        entry.keyLocation, entry.key,
                        "unknown key; a pipeline file has \(Self.topLevelKeys.joined(separator: ", "))"))
            }
        }
        return settings
    }

    /// Phase 2: each entry of `stages:` as a registered stage built from its checked options.
    func buildStages(_ items: [SpecNode], into problems: inout [PipelineProblem]) -> [Built] {
        var built: [Built] = []
        for (index, item) in items.enumerated() {
            guard case .mapping(let pair, _) = item, pair.count == 1, let entry = pair.first else {
                problems.append(
                    PipelineProblem(
                        item.location, "stages[\(index)]",
                        "expected one stage written as `name: {options}`, got \(item.found)"))
                continue
            }
            guard let type = registry.stage(named: entry.key) else {
                problems.append(
                    PipelineProblem(
                        entry.keyLocation, "stages[\(index)]",
                        "unknown stage \"\(entry.key)\"; known stages: \(registry.stages.map { $0.name }.joined(separator: ", "))"
                    ))
                continue
            }
            switch StageOptions.parse(stage: entry.key, specs: type.options, node: entry.value) {
            case .failure(let found):
                problems += found.problems
            case .success(let options):
                do {
                    let stage = try type.init(options: options)
                    let resolved = options.resolved(filling: stage.defaultValue(for:)).filter { stage.applies($0.name) }
                    built.append(
                        (PlannedStep(name: entry.key, options: resolved, location: entry.keyLocation), stage, options))
                } catch let problem as PipelineProblem {
                    problems.append(problem)
                } catch let found as PipelineProblems {
                    problems += found.problems
                } catch {
                    problems.append(options.problem("\(error)"))
                }
            }
        }
        return built
    }

    /// Phase 3: the order rules, from each stage's role and its own name only. At most one orientation
    /// stage, before every geometry and filter stage; exactly one output stage, last. `complete` says whether
    /// every entry built (a missing output stage is only reported then).
    func checkOrder(
        _ built: [Built], complete: Bool, at location: SpecLocation, into problems: inout [PipelineProblem]
    ) -> (transforms: [PlannedTransform], output: (step: PlannedStep, stage: any OutputStage))? {
        var transforms: [PlannedTransform] = []
        var output: (step: PlannedStep, stage: any OutputStage)?
        var after: TransformRole?
        for (position, (step, stage, options)) in built.enumerated() {
            if let stage = stage as? any OutputStage {
                if output != nil {
                    problems.append(
                        PipelineProblem(
                            step.location, step.name, "a pipeline has exactly one \(step.name) stage; remove this one"))
                } else if position != built.count - 1 {
                    problems.append(
                        PipelineProblem(step.location, step.name, "must be the last stage; move it to the end"))
                }
                output = (step, stage)
            } else if let stage = stage as? any TransformStage {
                let role = type(of: stage).role
                if role == .orientation {
                    if let after {
                        problems.append(
                            PipelineProblem(
                                step.location, step.name,
                                "must come before every geometry and filter stage (it follows a \(after.name) stage); move it up"
                            ))
                    }
                    if transforms.contains(where: { type(of: $0.stage).role == .orientation }) {
                        problems.append(PipelineProblem(step.location, step.name, "appears twice; keep one"))
                    }
                } else if after == nil {
                    after = role
                }
                transforms.append(PlannedTransform(step: step, stage: stage, options: options))
            }
        }
        if output == nil, complete {
            problems.append(PipelineProblem(location, "stages", "no output stage; end the list with \(outputNames)"))
        }
        return output.map { (transforms, $0) }
    }

    /// The output stages a pipeline can end with, such as `encode`.
    var outputNames: String {
        registry.stages.filter { $0 is any OutputStage.Type }.map { $0.name }.joined(separator: " or ")
    }

    /// Phase 4: what the decoder should do, from every stage.
    static func hints(for built: [Built], failOn: FailOn) -> LoadHints {
        var hints = LoadHints()
        hints.failOn = failOn
        for (_, stage, _) in built { stage.contribute(to: &hints) }
        return hints
    }

    /// Phase 5: the fingerprint, over the canonical text of the decoder policy and every resolved step.
    static func fingerprint(of built: [(step: PlannedStep, stage: any Stage)], failOn: FailOn) -> String {
        var canonical = "rendition-plan/2\ninput failOn=\(failOn.rawValue)\n"
        for (step, stage) in built {
            canonical += "stage \(step.name)"
            for (option, value) in step.options { canonical += " \(option)=\(value)" }
            // Only stages that read content add to the text, so every other plan keeps its fingerprint.
            if let content = stage.contentDigest { canonical += " content=\(content)" }
            canonical += "\n"
        }
        return PipelinePlan.hex(SHA256.hash(data: Array(canonical.utf8)))
    }

    /// Reads a `section: {key: value}` mapping whose keys are all in `keys`.
    private func readSection(
        _ entry: SpecEntry, keys: [String], into problems: inout [PipelineProblem],
        _ read: (String, SpecNode) -> String?
    ) {
        guard case .mapping(let pairs, _) = entry.value else {
            problems.append(
                PipelineProblem(
                    entry.value.location, entry.key,
                    "expected a mapping with \(keys.joined(separator: ", ")), got \(entry.value.found)"))
            return
        }
        for pair in pairs {
            guard keys.contains(pair.key) else {
                problems.append(
                    PipelineProblem(
                        pair.keyLocation, "\(entry.key).\(pair.key)",
                        "unknown key; known keys: \(keys.joined(separator: ", "))"))
                continue
            }
            if let message = read(pair.key, pair.value) {
                problems.append(PipelineProblem(pair.value.location, "\(entry.key).\(pair.key)", message))
            }
        }
    }
}

extension PipelinePlan {
    /// Lower-case hex of a digest.
    static func hex(_ digest: some Sequence<UInt8>) -> String {
        digest.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}
