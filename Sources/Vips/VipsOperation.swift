internal import CVips

/// A value for, or from, one argument of a libvips operation.
public enum VipsValue {
    /// A `gint` argument.
    case int(Int)
    /// A `gdouble` argument (an ``int(_:)`` is accepted for one too).
    case double(Double)
    /// A `gboolean` argument.
    case bool(Bool)
    /// A string argument (such as a profile path).
    case string(String)
    /// An enum member by its libvips nick (such as `"lanczos3"`), or flags as nicks joined by `|`.
    case enumNick(String)
    /// A `VipsArrayDouble` argument (such as a background colour, one value per band).
    case doubles([Double])
    /// An image argument, or a one-image `VipsArrayImage`.
    case image(VipsImage)
    /// A `VipsArrayImage` argument (the inputs of `bandjoin`, `arrayjoin`).
    case images([VipsImage])
    /// A `VipsBlob` argument or output (the `buffer` of the `*save_buffer` savers).
    case blob([UInt8])

    /// The value as an error message shows it.
    var described: String {
        switch self {
        case .int(let value): "int \(value)"
        case .double(let value): "double \(value)"
        case .bool(let value): "bool \(value)"
        case .string(let value): "string \"\(value)\""
        case .enumNick(let nick): "\"\(nick)\""
        case .doubles(let values): "an array of \(values.count) doubles"
        case .image: "an image"
        case .images(let images): "an array of \(images.count) images"
        case .blob(let bytes): "a blob of \(bytes.count) bytes"
        }
    }
}

/// Any of libvips' operations, called by name: the way pyvips, ruby-vips and NetVips call libvips.
///
/// The operation is created with `vips_operation_new`, its arguments are set as GObject properties from
/// typed Swift values, it is built through the operation cache call, and every output it assigned is read
/// back. Nothing is set unless every argument is known and of the right type; refusals are
/// ``VipsError/Kind/invalidArgument`` errors that name the operation and the argument. The operation and
/// its references are released before the call returns, on every path.
public enum VipsOperation {
    /// Runs the libvips operation `name` (its nickname, such as `"resize"` or `"jpegsave_buffer"`) with
    /// `arguments` keyed by libvips' argument names, and returns its outputs.
    ///
    /// An input image flagged as modified in place (the `draw_*` operations' `image`) is copied to memory
    /// first and returned among the outputs under its own name.
    public static func call(_ name: String, _ arguments: [String: VipsValue] = [:]) throws(VipsError)
        -> VipsOutputs
    {
        try VipsRuntime.start()
        // libvips finds only classes it can instantiate, so abstract ones ("foreign") are unknown too.
        // libvips finds only classes it can instantiate: abstract ones ("foreign") are unknown too.
        guard vips_type_find("VipsOperation", name) != 0 else {
            throw invalidArgument(name, "no libvips operation is named \"\(name)\"")
        }
        guard let created = vips_operation_new(name) else { throw lastError(name) }
        var operation: UnsafeMutablePointer<CVips.VipsOperation>? = created
        defer {
            vips_object_unref_outputs(object(operation))
            g_object_unref(UnsafeMutableRawPointer(operation))
        }
        let signature = Signature(of: object(created))
        var values: [(name: String, value: GValue)] = []
        defer {
            for index in values.indices { g_value_unset(&values[index].value) }
        }
        var modified: [String: VipsValue] = [:]
        let named = arguments.map { (argument: Signature.canonical($0.key), property: $0.key, given: $0.value) }
        for (argument, property, given) in named.sorted(by: { $0.argument < $1.argument }) {
            guard let flags = signature.flags[argument] else {
                throw invalidArgument(
                    name,
                    "no argument \"\(argument)\" (its arguments: \(signature.inputs.joined(separator: ", ")))")
            }
            guard flags.contains(VIPS_ARGUMENT_INPUT) else {
                throw invalidArgument(name, "argument \"\(argument)\" is an output, not an input")
            }
            var input = given
            if flags.contains(VIPS_ARGUMENT_MODIFY), case .image(let image) = given {
                let copy = try image.copiedToMemory()
                input = .image(copy)
                modified[argument] = input
            }
            let spec = signature.spec(argument, of: object(created))
            values.append((property, try Argument(spec).value(from: input, operation: name, argument: argument)))
        }
        let missing = signature.required.filter { required in !named.contains { $0.argument == required } }
        guard missing.isEmpty else {
            let list = missing.map { "\"\($0)\" (\(Argument(signature.spec($0, of: object(created))).expectation))" }
            throw invalidArgument(
                name, "required argument\(missing.count > 1 ? "s" : "") missing: \(list.joined(separator: ", "))")
        }
        for index in values.indices {
            g_object_set_property(gobject(created), values[index].name, &values[index].value)
        }
        guard vips_cache_operation_buildp(&operation) == 0, let built = operation else { throw lastError(name) }
        var outputs = modified
        for output in signature.outputs where vips_object_argument_isset(object(built), output) != 0 {
            let spec = signature.spec(output, of: object(built))
            var value = GValue()
            g_value_init(&value, spec.pointee.value_type)
            defer { g_value_unset(&value) }
            g_object_get_property(gobject(built), output, &value)
            if let read = Argument(spec).read(&value) { outputs[output] = read }
        }
        return VipsOutputs(operation: name, values: outputs)
    }

    private static func object(_ operation: UnsafeMutablePointer<CVips.VipsOperation>?)
        -> UnsafeMutablePointer<VipsObject>?
    {
        UnsafeMutableRawPointer(operation)?.assumingMemoryBound(to: VipsObject.self)
    }

    private static func gobject(_ operation: UnsafeMutablePointer<CVips.VipsOperation>)
        -> UnsafeMutablePointer<GObject>
    {
        UnsafeMutableRawPointer(operation).assumingMemoryBound(to: GObject.self)
    }
}

/// What an operation returned: every output it assigned, by libvips' argument name.
public struct VipsOutputs {
    /// The operation that produced these outputs (for error messages).
    public let operation: String
    let values: [String: VipsValue]

    /// The names of the outputs, sorted.
    public var names: [String] { values.keys.sorted() }

    /// The output `name` as it was read.
    public subscript(name: String) -> VipsValue? { values[name] }

    /// The image output `name`.
    public func image(_ name: String = "out") throws(VipsError) -> VipsImage {
        guard case .image(let image) = values[name] else { throw missing(name, "an image") }
        return image
    }

    /// The blob output `name`, copied out of libvips.
    public func blob(_ name: String = "buffer") throws(VipsError) -> [UInt8] {
        guard case .blob(let bytes) = values[name] else { throw missing(name, "a blob") }
        return bytes
    }

    /// The double output `name` (such as `avg`'s `out`).
    public func double(_ name: String = "out") throws(VipsError) -> Double {
        guard case .double(let value) = values[name] else { throw missing(name, "a double") }
        return value
    }

    /// The int output `name` (such as `smartcrop`'s `attention_x`).
    public func int(_ name: String) throws(VipsError) -> Int {
        guard case .int(let value) = values[name] else { throw missing(name, "an int") }
        return value
    }

    /// The double array output `name` (such as `getpoint`'s `out_array`).
    public func doubles(_ name: String) throws(VipsError) -> [Double] {
        guard case .doubles(let value) = values[name] else { throw missing(name, "an array of doubles") }
        return value
    }

    private func missing(_ name: String, _ expected: String) -> VipsError {
        let found = values[name].map { ", it is \($0.described)" } ?? ""
        return invalidArgument(
            operation,
            "output \"\(name)\" is not \(expected)\(found) (its outputs: \(names.joined(separator: ", ")))")
    }
}

/// An operation's arguments: names and flags, read once from the new operation. Names are spelled as
/// libvips documents them (`out_array`); GObject itself spells them with dashes (`out-array`), and either is
/// accepted.
private struct Signature {
    var flags: [String: Flags] = [:]
    var order: [String] = []

    struct Flags {
        let raw: Int32
        func contains(_ flag: VipsArgumentFlags) -> Bool { raw & Int32(flag.rawValue) != 0 }
    }

    init(of object: UnsafeMutablePointer<VipsObject>?) {
        var names: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var flags: UnsafeMutablePointer<Int32>?
        var count: Int32 = 0
        // The arrays belong to the operation, which outlives this.
        guard vips_object_get_args(object, &names, &flags, &count) == 0, let names, let flags else { return }
        for index in 0..<Int(count) {
            guard let name = names[index] else { continue }
            let argument = Self.canonical(String(cString: name))
            self.flags[argument] = Flags(raw: flags[index])
            order.append(argument)
        }
    }

    /// `name` with underscores, as libvips' documentation and C API spell argument names.
    static func canonical(_ name: String) -> String {
        String(name.map { $0 == "-" ? "_" : $0 })
    }

    private func named(_ include: (Flags) -> Bool) -> [String] {
        order.filter { flags[$0].map(include) ?? false }
    }

    var inputs: [String] {
        named { $0.contains(VIPS_ARGUMENT_INPUT) && !$0.contains(VIPS_ARGUMENT_DEPRECATED) }
    }

    var required: [String] {
        named {
            $0.contains(VIPS_ARGUMENT_INPUT) && $0.contains(VIPS_ARGUMENT_REQUIRED)
                && $0.contains(VIPS_ARGUMENT_CONSTRUCT) && !$0.contains(VIPS_ARGUMENT_DEPRECATED)
        }
    }

    var outputs: [String] { named { $0.contains(VIPS_ARGUMENT_OUTPUT) } }

    /// The property spec of `name`, one of this signature's arguments.
    func spec(_ name: String, of object: UnsafeMutablePointer<VipsObject>?) -> UnsafeMutablePointer<GParamSpec> {
        var spec: UnsafeMutablePointer<GParamSpec>?
        var argumentClass: UnsafeMutablePointer<VipsArgumentClass>?
        var instance: UnsafeMutablePointer<VipsArgumentInstance>?
        // Cannot fail: `name` came from the operation's own argument table.
        _ = vips_object_get_argument(object, name, &spec, &argumentClass, &instance)
        return spec!
    }
}

/// One argument's type, from its property spec, and the conversions between it and ``VipsValue``.
private struct Argument {
    enum Kind {
        case int, double, bool, string, enumeration, flags, doubles, image, images, blob, unsupported
    }

    let spec: UnsafeMutablePointer<GParamSpec>
    let type: GType
    let kind: Kind

    init(_ spec: UnsafeMutablePointer<GParamSpec>) {
        self.spec = spec
        type = spec.pointee.value_type
        let fundamental = g_type_fundamental(type)
        kind =
            if fundamental == rv_type_int() { .int } else if fundamental == rv_type_double() {
                .double
            } else if fundamental == rv_type_boolean() { .bool } else if fundamental == rv_type_string() {
                .string
            } else if fundamental == rv_type_enum() { .enumeration } else if fundamental == rv_type_flags() {
                .flags
            } else if type == vips_array_double_get_type() { .doubles } else if type == vips_array_image_get_type() {
                .images
            } else if type == vips_blob_get_type() { .blob } else if g_type_is_a(type, vips_image_get_type()) != 0 {
                .image
            } else { .unsupported }
    }

    var typeName: String { String(cString: g_type_name(type)) }

    /// What a value for this argument must be, for error messages.
    var expectation: String {
        switch kind {
        case .int:
            guard let range = rv_param_spec_int(spec) else { return "an int" }
            return "an int in \(range.pointee.minimum)...\(range.pointee.maximum)"
        case .double:
            guard let range = rv_param_spec_double(spec) else { return "a double" }
            return "a double in \(range.pointee.minimum)...\(range.pointee.maximum)"
        case .bool: return "a bool"
        case .string: return "a string"
        case .enumeration: return "an enum \(typeName) nick (\(nicks.joined(separator: ", ")))"
        case .flags: return "\(typeName) flag nicks joined by | (\(nicks.joined(separator: ", ")))"
        case .doubles: return "an array of doubles"
        case .image: return "an image"
        case .images: return "an image or an array of images"
        case .blob: return "a blob"
        case .unsupported: return "a \(typeName), which the generic call cannot set"
        }
    }

    /// The members of an enum or flags type by nick, without libvips' `last` sentinel.
    var nicks: [String] {
        members.map(\.nick)
    }

    private var members: [(nick: String, value: Int)] {
        guard let typeClass = g_type_class_ref(type) else { return [] }
        defer { g_type_class_unref(typeClass) }
        var result: [(String, Int)] = []
        if kind == .enumeration {
            let enumClass = typeClass.assumingMemoryBound(to: GEnumClass.self).pointee
            for index in 0..<Int(enumClass.n_values) {
                let member = enumClass.values[index]
                result.append((String(cString: member.value_nick), Int(member.value)))
            }
        } else {
            let flagsClass = typeClass.assumingMemoryBound(to: GFlagsClass.self).pointee
            for index in 0..<Int(flagsClass.n_values) {
                let member = flagsClass.values[index]
                result.append((String(cString: member.value_nick), Int(member.value)))
            }
        }
        return result.filter { $0.0 != "last" }
    }

    /// A GValue of this argument's type holding `given` (the caller unsets it), or a refusal that says
    /// what was expected. Nothing is set on the operation here.
    func value(from given: VipsValue, operation: String, argument: String) throws(VipsError) -> GValue {
        // Built only when thrown: the expectation of an enum lists its members.
        var refusal: VipsError {
            invalidArgument(operation, "argument \"\(argument)\": expected \(expectation), got \(given.described)")
        }
        var value = GValue()
        switch (kind, given) {
        case (.int, .int(let number)):
            guard let number = Int32(exactly: number) else { throw refusal }
            g_value_init(&value, type)
            g_value_set_int(&value, number)
        case (.double, .double(let number)):
            g_value_init(&value, type)
            g_value_set_double(&value, number)
        case (.double, .int(let number)):
            g_value_init(&value, type)
            g_value_set_double(&value, Double(number))
        case (.bool, .bool(let flag)):
            g_value_init(&value, type)
            g_value_set_boolean(&value, flag ? 1 : 0)
        case (.string, .string(let text)):
            g_value_init(&value, type)
            g_value_set_string(&value, text)
        case (.enumeration, .enumNick(let nick)):
            guard let member = members.first(where: { $0.nick == nick }) else { throw refusal }
            g_value_init(&value, type)
            g_value_set_enum(&value, Int32(member.value))
        case (.flags, .enumNick(let list)):
            var bits = 0
            for nick in list.split(separator: "|") {
                guard let member = members.first(where: { $0.nick == nick }) else { throw refusal }
                bits |= member.value
            }
            g_value_init(&value, type)
            g_value_set_flags(&value, guint(bits))
        case (.doubles, .doubles(let numbers)):
            g_value_init(&value, type)
            vips_value_set_array_double(&value, numbers, Int32(numbers.count))
        case (.image, .image(let image)):
            g_value_init(&value, type)
            // The GValue holds its own reference until it is unset.
            g_value_set_object(&value, UnsafeMutableRawPointer(image.pointer))
        case (.images, .image(let image)):
            return try self.value(from: .images([image]), operation: operation, argument: argument)
        case (.images, .images(let images)):
            g_value_init(&value, type)
            vips_value_set_array_image(&value, Int32(images.count))
            let slots = vips_value_get_array_image(&value, nil)
            // The array owns one reference per image, dropped when the GValue is unset.
            for (index, image) in images.enumerated() {
                g_object_ref(UnsafeMutableRawPointer(image.pointer))
                slots?[index] = image.pointer
            }
        case (.blob, .blob(let bytes)):
            g_value_init(&value, type)
            let copy = g_malloc(gsize(max(1, bytes.count)))
            bytes.withUnsafeBytes { raw in
                if let base = raw.baseAddress { copy?.copyMemory(from: base, byteCount: raw.count) }
            }
            vips_value_set_blob_free(&value, copy, bytes.count)
        default:
            throw refusal
        }
        if g_param_value_validate(spec, &value) != 0 {
            g_value_unset(&value)
            throw refusal
        }
        return value
    }

    /// `value` (of this argument's type) as a Swift value owning what it holds, or `nil` for a type the
    /// generic call does not read.
    func read(_ value: inout GValue) -> VipsValue? {
        switch kind {
        case .int: return .int(Int(g_value_get_int(&value)))
        case .double: return .double(g_value_get_double(&value))
        case .bool: return .bool(g_value_get_boolean(&value) != 0)
        case .string: return g_value_get_string(&value).map { .string(String(cString: $0)) }
        case .enumeration:
            let raw = Int(g_value_get_enum(&value))
            return members.first { $0.value == raw }.map { .enumNick($0.nick) }
        case .flags:
            let raw = Int(g_value_get_flags(&value))
            return .enumNick(
                members.filter { $0.value != 0 && raw & $0.value == $0.value }.map(\.nick).joined(separator: "|"))
        case .doubles:
            var count: Int32 = 0
            guard let numbers = vips_value_get_array_double(&value, &count) else { return .doubles([]) }
            return .doubles(Array(UnsafeBufferPointer(start: numbers, count: Int(count))))
        case .image:
            guard let object = g_value_dup_object(&value) else { return nil }
            return .image(VipsImage(owning: object.assumingMemoryBound(to: CVips.VipsImage.self)))
        case .images:
            var count: Int32 = 0
            guard let images = vips_value_get_array_image(&value, &count) else { return .images([]) }
            return .images(
                (0..<Int(count)).compactMap { index in
                    images[index].map {
                        g_object_ref(UnsafeMutableRawPointer($0))
                        return VipsImage(owning: $0)
                    }
                })
        case .blob:
            var length = 0
            guard let data = vips_value_get_blob(&value, &length) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: data, count: length)))
        case .unsupported: return nil
        }
    }
}
