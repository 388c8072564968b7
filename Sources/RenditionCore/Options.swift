/// The type and allowed values of one stage option. It checks values, writes the `expected …` part of
/// error messages, and becomes the option's JSON Schema.
public enum OptionKind: Sendable, Hashable {
    /// A whole number in `min...max`.
    case integer(min: Int, max: Int)
    /// A number (integer or decimal) in `min...max`.
    case number(min: Double, max: Double)
    /// `true` or `false`.
    case boolean
    /// One of a fixed set of words.
    case choice([String])
    /// A list of words from a fixed set, each at most once.
    case choices([String])
    /// A colour: `#rgb`, `#rrggbb`, `#rrggbbaa`, or a name (`white`, `black`, `transparent`).
    case color
    /// An aspect ratio such as `16:9` or `1:1`.
    case aspectRatio
    /// The name of a file in a folder the stage chooses: no folder part (`/` or `\`), no `..`, no leading
    /// dot, no control characters, so a pipeline file can never name a path outside that folder.
    case fileName
    /// A mapping of options of its own (an output format's settings under `format: auto`), checked against
    /// `specs` exactly like a stage's; read with ``StageOptions/subscript(_:)-(StageSection)``.
    case section([OptionSpec])

    /// The expectation in an error message: `a positive integer`, `one of inside, cover`.
    public var expectation: String {
        switch self {
        case .integer(let min, let max):
            if max == .max {
                return min == 1
                    ? "a positive integer" : min == 0 ? "a non-negative integer" : "an integer of at least \(min)"
            }
            return "an integer from \(min) to \(max)"
        case .number(let min, let max):
            if max == .infinity { return min == 0 ? "a non-negative number" : "a number of at least \(format(min))" }
            return "a number from \(format(min)) to \(format(max))"
        case .boolean: return "true or false"
        case .choice(let words): return "one of \(words.joined(separator: ", "))"
        case .choices(let words): return "a list of \(words.joined(separator: ", ")), each at most once"
        case .color: return "a colour such as \"#ffffff\", \"#fff\" or \"white\""
        case .aspectRatio: return "an aspect ratio such as \"16:9\""
        case .fileName: return "a file name such as \"logo.png\" (no folders, no leading dot)"
        case .section(let specs): return "a mapping of \(specs.map(\.name).joined(separator: ", "))"
        }
    }

    /// A short type for listings: `integer 1–100000`, `inside|cover`, `colour`.
    public var summary: String {
        switch self {
        case .integer(let min, let max): max == .max ? "integer ≥ \(min)" : "integer \(min)–\(max)"
        case .number(let min, let max):
            max == .infinity ? "number ≥ \(format(min))" : "number \(format(min))–\(format(max))"
        case .boolean: "true|false"
        case .choice(let words): words.joined(separator: "|")
        case .choices(let words): "list of \(words.joined(separator: ", "))"
        case .color: "colour"
        case .aspectRatio: "ratio W:H"
        case .fileName: "file name"
        case .section(let specs): "{\(specs.map(\.name).joined(separator: ", "))}"
        }
    }

    /// Reads `raw` as a value of this kind, or `nil` when it is not one.
    func coerce(_ raw: RawOption) -> OptionValue? {
        let mismatch: OptionValue? = nil
        switch (self, raw) {
        case (.integer(let min, let max), .scalar(let text)):
            guard let value = Int(text), value >= min, value <= max else { return mismatch }
            return .integer(value)
        case (.number(let min, let max), .scalar(let text)):
            guard let value = Double(text), value.isFinite, value >= min, value <= max else { return mismatch }
            return .number(value)
        case (.boolean, .scalar(let text)):
            switch text {
            case "true": return .boolean(true)
            case "false": return .boolean(false)
            default: return mismatch
            }
        case (.choice(let words), .scalar(let text)):
            guard words.contains(text) else { return mismatch }
            return .string(text)
        case (.choices(let words), .list(let items)):
            guard items.allSatisfy(words.contains), Set(items).count == items.count else { return mismatch }
            return .list(items)
        case (.color, .scalar(let text)):
            guard Color(parsing: text) != nil else { return mismatch }
            return .string(text)
        case (.aspectRatio, .scalar(let text)):
            guard AspectRatio(parsing: text) != nil else { return mismatch }
            return .string(text)
        case (.fileName, .scalar(let text)):
            let plain =
                !text.isEmpty && !text.hasPrefix(".") && !text.contains("..")
                && !text.unicodeScalars.contains { $0 == "/" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F }
            return plain ? .string(text) : mismatch
        default:
            return mismatch
        }
    }
}

private func format(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
}

/// An option's value before it is checked against its kind.
enum RawOption {
    case scalar(String)
    case list([String])
    case other(String)

    var found: String {
        switch self {
        case .scalar(let text): text.isEmpty ? "an empty string" : text
        case .list(let items): "[\(items.joined(separator: ", "))]"
        case .other(let description): description
        }
    }
}

/// A checked option value.
public enum OptionValue: Sendable, Hashable, CustomStringConvertible {
    case integer(Int)
    case number(Double)
    case boolean(Bool)
    case string(String)
    case list([String])
    /// A section's written options (``OptionKind/section(_:)``).
    case section([String: OptionValue])

    /// The canonical text of the value, used in plans, docs and fingerprints.
    public var description: String {
        switch self {
        case .integer(let value): String(value)
        case .number(let value): format(value)
        case .boolean(let value): String(value)
        case .string(let value): value
        case .list(let items): "[\(items.joined(separator: ", "))]"
        case .section(let values):
            "{\(values.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))}"
        }
    }

    var raw: RawOption {
        switch self {
        case .list(let items): .list(items)
        default: .scalar(description)
        }
    }
}

extension OptionValue: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByStringLiteral, ExpressibleByArrayLiteral
{
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: String...) { self = .list(elements) }
}

/// One option a stage accepts: its name, kind, default and one line of help.
public struct OptionSpec: Sendable, Hashable {
    public let name: String
    public let kind: OptionKind
    /// The value used when the option is absent, or `nil` when absence means "not set".
    public let defaultValue: OptionValue?
    /// Whether the option must be written.
    public let required: Bool
    public let help: String

    public init(
        _ name: String, _ kind: OptionKind, default defaultValue: OptionValue? = nil, required: Bool = false,
        help: String
    ) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.required = required
        self.help = help
    }
}

/// The checked options of one stage in one pipeline file: every value has the type its ``OptionSpec``
/// declares, and absent options read as their defaults.
public struct StageOptions: Sendable {
    /// The stage's name in the pipeline file.
    public let stage: String
    /// Where the stage was written.
    public let location: SpecLocation
    private let specs: [OptionSpec]
    private let explicit: [String: (value: OptionValue, location: SpecLocation)]
    private let sections: [String: StageOptions]

    /// Checks `node` (the value of a stage entry) against `specs`, collecting every problem.
    public static func parse(stage: String, specs: [OptionSpec], node: SpecNode) -> Result<
        StageOptions, PipelineProblems
    > {
        var problems: [PipelineProblem] = []
        var explicit: [String: (OptionValue, SpecLocation)] = [:]
        var sections: [String: StageOptions] = [:]
        var written: Set<String> = []
        let entries: [SpecEntry]
        switch node {
        case .null: entries = []
        case .mapping(let list, _): entries = list
        default:
            return .failure(
                PipelineProblems([
                    PipelineProblem(
                        node.location, stage,
                        "expected a mapping of options (or {}), got \(node.found)")
                ]))
        }
        for entry in entries {
            guard let spec = specs.first(where: { $0.name == entry.key }) else {
                let known =
                    specs.isEmpty
                    ? "it takes no options" : "known options: \(specs.map(\.name).joined(separator: ", "))"
                problems.append(PipelineProblem(entry.keyLocation, "\(stage).\(entry.key)", "unknown option; \(known)"))
                continue
            }
            written.insert(entry.key)
            if case .section(let inner) = spec.kind {
                switch parse(stage: "\(stage).\(entry.key)", specs: inner, node: entry.value) {
                case .failure(let found): problems += found.problems
                case .success(let nested):
                    sections[spec.name] = nested
                    explicit[spec.name] = (.section(nested.explicitValues), entry.value.location)
                }
                continue
            }
            let raw: RawOption
            switch entry.value {
            case .scalar(let text, _): raw = .scalar(text)
            case .sequence(let items, _):
                var words: [String] = []
                for item in items { if case .scalar(let text, _) = item { words.append(text) } }
                raw = words.count == items.count ? .list(words) : .other("a nested list")
            default: raw = .other(entry.value.found)
            }
            if let value = spec.kind.coerce(raw) {
                explicit[spec.name] = (value, entry.value.location)
            } else {
                problems.append(
                    PipelineProblem(
                        entry.value.location, "\(stage).\(entry.key)",
                        "expected \(spec.kind.expectation), got \(raw.found)"))
            }
        }
        for spec in specs where spec.required && !written.contains(spec.name) {
            problems.append(
                PipelineProblem(node.location, "\(stage).\(spec.name)", "missing; expected \(spec.kind.expectation)"))
        }
        if !problems.isEmpty { return .failure(PipelineProblems(problems)) }
        return .success(
            StageOptions(stage: stage, location: node.location, specs: specs, explicit: explicit, sections: sections))
    }

    /// Checks options given in code (tests, tools), as if they had been written at `location`.
    public static func check(
        stage: String,
        specs: [OptionSpec],
        values: [String: OptionValue],
        location: SpecLocation = SpecLocation(file: "<code>", line: 1, column: 1)
    ) -> Result<StageOptions, PipelineProblems> {
        let entries = values.sorted { $0.key < $1.key }.map { key, value in
            SpecEntry(key: key, keyLocation: location, value: node(value, at: location))
        }
        return parse(stage: stage, specs: specs, node: .mapping(entries, location))
    }

    /// `value` as a file would have written it.
    private static func node(_ value: OptionValue, at location: SpecLocation) -> SpecNode {
        switch value {
        case .list(let items): .sequence(items.map { .scalar($0, location) }, location)
        case .section(let values):
            .mapping(
                values.sorted { $0.key < $1.key }.map {
                    SpecEntry(key: $0.key, keyLocation: location, value: node($0.value, at: location))
                }, location)
        default: .scalar(value.description, location)
        }
    }

    private init(
        stage: String, location: SpecLocation, specs: [OptionSpec],
        explicit: [String: (value: OptionValue, location: SpecLocation)], sections: [String: StageOptions]
    ) {
        self.stage = stage
        self.location = location
        self.specs = specs
        self.explicit = explicit
        self.sections = sections
    }

    /// The options of a section (``OptionKind/section(_:)``): as written, or none (every default) when absent.
    public subscript(_ section: StageSection) -> StageOptions {
        precondition(
            specs.contains { $0.name == section.spec.name }, "\(stage) reads undeclared section \(section.name)")
        guard case .section(let inner) = section.spec.kind else { preconditionFailure("\(section.name) is no section") }
        return sections[section.spec.name]
            ?? StageOptions(
                stage: "\(stage).\(section.name)", location: location, specs: inner, explicit: [:], sections: [:])
    }

    /// The options written in the file, by name.
    var explicitValues: [String: OptionValue] { explicit.mapValues(\.value) }

    /// These options with `values` in place of what was written or defaulted, each checked against its kind
    /// and kept at the written option's location (a size variant's scaled sizes). `nil` names the first
    /// value its kind refuses, with the expectation.
    public func replacing(_ values: [String: OptionValue]) -> Result<StageOptions, PipelineProblem> {
        var replaced = explicit
        for (name, value) in values {
            guard let spec = specs.first(where: { $0.name == name }) else {
                preconditionFailure("\(stage) has no option \(name)")
            }
            guard let checked = spec.kind.coerce(value.raw) else {
                return .failure(problem(name, "expected \(spec.kind.expectation), got \(value)"))
            }
            replaced[name] = (checked, explicit[name]?.location ?? location)
        }
        return .success(
            StageOptions(stage: stage, location: location, specs: specs, explicit: replaced, sections: sections))
    }

    /// The value of `option`: as written, else its declared default.
    ///
    /// Reading an option the stage did not declare in its ``Stage/options`` is a programming error and stops
    /// at the first plan (every stage is planned in the tests).
    public subscript<Value>(_ option: StageOption<Value>) -> Value {
        option.read(value(option.spec.name))
    }

    /// Whether `option` was written in the file.
    public func isSet(_ option: any DeclaredOption) -> Bool { isSet(option.spec.name) }

    /// A problem about `option`, located where it was written (or at the stage when it was not).
    public func problem(_ option: any DeclaredOption, _ message: String) -> PipelineProblem {
        problem(option.spec.name, message)
    }

    /// A problem about the stage as a whole, located where it was written.
    public func problem(_ message: String) -> PipelineProblem { problem(nil, message) }

    func value(_ name: String) -> OptionValue? {
        precondition(specs.contains { $0.name == name }, "\(stage) reads undeclared option \(name)")
        return explicit[name]?.value ?? specs.first { $0.name == name }?.defaultValue
    }

    func isSet(_ name: String) -> Bool {
        precondition(specs.contains { $0.name == name }, "\(stage) asks about undeclared option \(name)")
        return explicit[name] != nil
    }

    /// Every option with a value (written or default), in declaration order: what the stage will do.
    public var resolved: [(name: String, value: OptionValue)] { resolved(filling: { _ in nil }) }

    /// ``resolved``, with `defaults` giving the value of options that have neither a written value nor a
    /// declared default (one the stage derives from other options, such as AVIF's quality).
    public func resolved(filling defaults: (String) -> OptionValue?) -> [(name: String, value: OptionValue)] {
        specs.compactMap { spec in (value(spec.name) ?? defaults(spec.name)).map { (spec.name, $0) } }
    }

    func problem(_ name: String?, _ message: String) -> PipelineProblem {
        guard let name else { return PipelineProblem(location, stage, message) }
        return PipelineProblem(explicit[name]?.location ?? location, "\(stage).\(name)", message)
    }
}

/// One option of a stage, declared once: its ``OptionSpec`` (name, kind, default, help) and how its checked
/// value reads in Swift. A stage reads it with `options[Self.someOption]`, which gives the written value or
/// the declared default, never a second copy of either.
///
/// Choice options come from enums, so the words a file may use and the cases a stage switches over are one list.
public struct StageOption<Value>: Sendable {
    public let spec: OptionSpec
    let read: @Sendable (OptionValue?) -> Value

    init(_ spec: OptionSpec, read: @escaping @Sendable (OptionValue?) -> Value) {
        if let value = spec.defaultValue {
            precondition(
                spec.kind.coerce(value.raw) != nil, "\(spec.name): default \(value) is not \(spec.kind.expectation)")
        }
        self.spec = spec
        self.read = read
    }

    public var name: String { spec.name }
}

/// Any ``StageOption``, for listing a stage's options whatever their types.
public protocol DeclaredOption: Sendable {
    var spec: OptionSpec { get }
}

extension StageOption: DeclaredOption {}

extension OptionSpec: DeclaredOption {
    public var spec: OptionSpec { self }
}

/// A section option, declared once: a mapping of options of its own (``OptionKind/section(_:)``), such as
/// `avif: {quality: 55}` under `format: auto`. A stage reads it with `options[Self.someSection]`.
public struct StageSection: DeclaredOption {
    public let spec: OptionSpec

    public init(_ name: String, options: [OptionSpec], help: String) {
        spec = OptionSpec(name, .section(options), help: help)
    }

    public var name: String { spec.name }
}

extension OptionSpec {
    /// The specs of `options`, in the order given: a stage's ``Stage/options``.
    public static func list(_ options: any DeclaredOption...) -> [OptionSpec] { options.map(\.spec) }
}

extension StageOption where Value == Int {
    /// A whole number in `min...max` that reads as `default` when absent.
    public static func integer(_ name: String, min: Int, max: Int = .max, default value: Int, help: String) -> Self {
        Self(OptionSpec(name, .integer(min: min, max: max), default: .integer(value), help: help)) {
            if case .integer(let number) = $0 { number } else { value }
        }
    }
}

extension StageOption where Value == Int? {
    /// A whole number in `min...max`, `nil` when absent.
    public static func integer(_ name: String, min: Int, max: Int = .max, help: String) -> Self {
        Self(OptionSpec(name, .integer(min: min, max: max), help: help)) {
            if case .integer(let number) = $0 { number } else { nil }
        }
    }
}

extension StageOption where Value == Double {
    /// A number in `min...max` that reads as `default` when absent.
    public static func number(_ name: String, min: Double, max: Double = .infinity, default value: Double, help: String)
        -> Self
    {
        Self(OptionSpec(name, .number(min: min, max: max), default: .number(value), help: help)) {
            $0?.number ?? value
        }
    }
}

extension StageOption where Value == Double? {
    /// A number in `min...max`, `nil` when absent.
    public static func number(_ name: String, min: Double, max: Double = .infinity, help: String) -> Self {
        Self(OptionSpec(name, .number(min: min, max: max), help: help)) { $0?.number }
    }
}

extension StageOption where Value == Bool {
    /// `true` or `false`, reading as `default` when absent.
    public static func boolean(_ name: String, default value: Bool, help: String) -> Self {
        Self(OptionSpec(name, .boolean, default: .boolean(value), help: help)) {
            if case .boolean(let flag) = $0 { flag } else { value }
        }
    }
}

extension StageOption where Value: CaseIterable & RawRepresentable & Sendable, Value.RawValue == String {
    /// One of `Value`'s cases, by raw value, reading as `default` when absent.
    public static func choice(_ name: String, default value: Value, help: String) -> Self {
        Self(OptionSpec(name, .choice(Value.allCases.map(\.rawValue)), default: .string(value.rawValue), help: help)) {
            if case .string(let word) = $0, let found = Value(rawValue: word) { found } else { value }
        }
    }

    /// One of `Value`'s cases that every file must write.
    public static func required(_ name: String, help: String) -> Self {
        Self(OptionSpec(name, .choice(Value.allCases.map(\.rawValue)), required: true, help: help)) {
            guard case .string(let word) = $0, let found = Value(rawValue: word) else {
                preconditionFailure("\(name) is required, so planning refuses a file without it")
            }
            return found
        }
    }
}

extension StageOption {
    /// Cases of `Element`, each at most once, reading as `default` when absent.
    public static func choices<Element>(_ name: String, default value: [Element], help: String) -> Self
    where
        Value == Set<Element>, Element: CaseIterable & RawRepresentable & Hashable & Sendable,
        Element.RawValue == String
    {
        Self(
            OptionSpec(
                name, .choices(Element.allCases.map(\.rawValue)), default: .list(value.map(\.rawValue)), help: help)
        ) {
            if case .list(let words) = $0 { Set(words.compactMap(Element.init(rawValue:))) } else { Set(value) }
        }
    }
}

extension StageOption {
    /// Cases of `Element` in the order written, each at most once, reading as `default` when absent.
    public static func list<Element>(_ name: String, default value: [Element], help: String) -> Self
    where
        Value == [Element], Element: CaseIterable & RawRepresentable & Hashable & Sendable,
        Element.RawValue == String
    {
        Self(
            OptionSpec(
                name, .choices(Element.allCases.map(\.rawValue)), default: .list(value.map(\.rawValue)), help: help)
        ) {
            if case .list(let words) = $0 { words.compactMap(Element.init(rawValue:)) } else { value }
        }
    }
}

extension StageOption where Value == Color {
    /// A colour, reading as `default` (written as in a file, such as `#ffffff`) when absent.
    public static func color(_ name: String, default text: String, help: String) -> Self {
        Self(OptionSpec(name, .color, default: .string(text), help: help)) {
            if case .string(let written) = $0, let color = Color(parsing: written) { return color }
            return Color(parsing: text)!
        }
    }
}

extension StageOption where Value == Color? {
    /// A colour, `nil` when absent (the stage then derives one, such as the image's corner pixel).
    public static func color(_ name: String, help: String) -> Self {
        Self(OptionSpec(name, .color, help: help)) {
            if case .string(let written) = $0 { Color(parsing: written) } else { nil }
        }
    }
}

extension StageOption where Value == String {
    /// A file name (``OptionKind/fileName``) that every file must write; the stage resolves it in its own folder.
    public static func fileName(_ name: String, help: String) -> Self {
        Self(OptionSpec(name, .fileName, required: true, help: help)) {
            guard case .string(let text) = $0 else {
                preconditionFailure("\(name) is required, so planning refuses a file without it")
            }
            return text
        }
    }
}

extension StageOption where Value == AspectRatio? {
    /// An aspect ratio such as `16:9`, `nil` when absent.
    public static func aspectRatio(_ name: String, help: String) -> Self {
        Self(OptionSpec(name, .aspectRatio, help: help)) {
            if case .string(let text) = $0 { AspectRatio(parsing: text) } else { nil }
        }
    }
}

extension OptionValue {
    /// The value as a number, integers included.
    var number: Double? {
        switch self {
        case .number(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }
}
