import ArgumentParser
import Foundation
import ObjectStorage
import RenditionCore
import RenditionService

/// `rendition srcset`: the HTML that makes a browser pick a preset's variant for its screen.
struct Srcset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a ready <img srcset sizes width height> snippet for a preset's variants of one original.",
        discussion: """
            The sizes come from the original's header (--input FILE, or the configured originals store), so \
            every `w` descriptor, `width` and `height` is what the variant really is, `enlarge: false` included. \
            A preset that negotiates its format needs only <img>; for a family of fixed-format presets, give \
            them comma-separated, best first (card-avif,card-webp,card-jpeg), for a <picture>.
            """
    )

    @Argument(help: "Preset name, or fixed-format presets comma-separated, best first, for a <picture>.")
    var preset: String

    @Argument(help: "The original's key, as in /{preset}/{key}.")
    var key: String

    @OptionGroup var pipelineOptions: PipelineOptions

    @Option(name: .long, help: "Where renditions are public (default: server.publicBaseURL; empty: root-relative).")
    var base: String?

    @Option(name: .long, help: "The sizes attribute (default: the base width, full width below it).")
    var sizes: String?

    @Option(name: .long, help: "Read the original from this file instead of the configured originals store.")
    var input: String?

    @Option(name: .long, help: "Configuration file (default: rendition.yaml if it exists).")
    var config: String?

    func run() async throws {
        do {
            let presets = try preset.split(separator: ",").map { try pipelineOptions.plan(String($0)) }
            if presets.count > 1, let negotiating = presets.first(where: \.negotiates) {
                throw CLIError(
                    "\(negotiating.name) chooses its format per request; a <picture> is for fixed-format presets, so give it alone"
                )
            }
            let configuration = try RenditionConfiguration.load(file: config, environment: environment)
            let original = try await readOriginal(configuration)
            let renderer = try Renderer(threads: 1)
            let info = try await renderer.inspect(original, plan: presets[0])
            try await renderer.shutdown()
            print(html(presets, info: info, base: base ?? configuration.publicBaseURL))
        } catch let error as CLIError {
            Console.error(error.description)
            throw ExitCode(1)
        } catch let error as RenditionError {
            Console.error(error.line)
            throw ExitCode(1)
        } catch let error as ConfigurationError {
            Console.error("\(error)")
            throw ExitCode(1)
        }
    }

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    func readOriginal(_ configuration: RenditionConfiguration) async throws -> [UInt8] {
        if let input { return try readBytes(input) }
        let stores = try configuration.makeStores(environment: environment)
        do {
            guard let object = try await stores.source.get(try ObjectKey(key), maxBytes: 512 * 1024 * 1024) else {
                throw CLIError("no original at \"\(key)\" in \(stores.source); upload it, or give --input FILE")
            }
            return object.body
        } catch let error as StorageError {
            throw CLIError("reading \"\(key)\": \(error.message)")
        }
    }

    /// One size of a preset for this original: its URL and what it will measure.
    struct Candidate {
        let url: String
        let width: Int
        let height: Int
        let density: Int?
    }

    func candidates(_ plan: PipelinePlan, info: InputInfo, base: String) -> [Candidate] {
        let key = PurgeItem.percentEncoded(key)
        let found = plan.variants.sizes.compactMap { size -> Candidate? in
            guard let form = plan.plan(for: RenditionForm(size: size, format: plan.form.format)),
                let geometry = form.predict(for: info).steps.last
            else { return nil }
            let density: Int? =
                switch size {
                case .base: 1
                case .density(let density): density
                case .width: nil
                }
            return Candidate(
                url: "\(base)/\(PurgeItem.percentEncoded(form.form.publicSegment(preset: plan.name)))/\(key)",
                width: geometry.width, height: geometry.height, density: density)
        }
        // A variant capped by `enlarge: false` is the same picture as a smaller one: keep the first of each width.
        var seen: Set<Int> = []
        return found.filter { seen.insert($0.width).inserted }
    }

    /// The snippet: `<img>` with a `w` srcset when the preset declares widths (an `x` srcset for densities
    /// only), or a `<picture>` whose sources are the family's presets, best first.
    func html(_ presets: [PipelinePlan], info: InputInfo, base: String) -> String {
        let last = presets.last!
        let fallback = candidates(last, info: info, base: base)
        let main = fallback[0]
        let byWidth = !last.variants.widths.isEmpty
        let sizes = sizes ?? "(max-width: \(main.width)px) 100vw, \(main.width)px"
        func srcset(_ found: [Candidate]) -> String {
            found.sorted { $0.width < $1.width }.compactMap { candidate in
                if byWidth { return "\(candidate.url) \(candidate.width)w" }
                return candidate.density.map { "\(candidate.url) \($0)x" }
            }.joined(separator: ", ")
        }
        func attribute(_ name: String, _ value: String) -> String { " \(name)=\"\(Self.escape(value))\"" }
        var img = "<img" + attribute("src", main.url)
        if fallback.count > 1 { img += attribute("srcset", srcset(fallback)) }
        if fallback.count > 1, byWidth { img += attribute("sizes", sizes) }
        img += attribute("width", String(main.width)) + attribute("height", String(main.height))
        img += attribute("alt", "") + ">"
        guard presets.count > 1 else { return img }
        var picture = "<picture>\n"
        for plan in presets.dropLast() {
            picture += "  <source" + attribute("type", plan.output.mediaType)
            picture += attribute("srcset", srcset(candidates(plan, info: info, base: base)))
            if byWidth { picture += attribute("sizes", sizes) }
            picture += ">\n"
        }
        return picture + "  " + img + "\n</picture>"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
