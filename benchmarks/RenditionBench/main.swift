import Foundation
import RenditionCatalog
import RenditionCore

// `rendition-bench`: times Rendition's engine in process, on one render thread, the way `make bench` compares
// it with a bare libvips thumbnail + save loop (benchmarks/vips_loop.py). It is not part of the service.
//
//   rendition-bench PIPELINE.yaml IMAGE... [--iterations N] [--warmup N] [--save-dir DIR] [--scans MODE]
//
// For each image: `warmup` untimed renders, then `iterations` renders one after another; prints one JSON line
// with the process CPU seconds (user + system, every thread: CLOCK_PROCESS_CPUTIME_ID) and wall seconds per render, and
// the shrink-on-load factor the plan chose, and the median CPU of each phase over as many profiled renders
// (Renderer.profile: each phase computed into memory in turn). `--save-dir` writes the last rendition of each image
// there; `--scans none|unread|chroma` chooses which progressive JPEG scans a 1/8 decode skips (default unread).

struct Options {
    var pipeline = ""
    var images: [String] = []
    var iterations = 10
    var warmup = 2
    var saveDir: String?
    var scans = ScanSkipping.unread

    static func parse(_ arguments: [String]) -> Options? {
        var options = Options()
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--iterations", "--warmup", "--save-dir", "--scans":
                guard let value = rest.popFirst() else { return nil }
                if argument == "--scans" {
                    guard let scans = ScanSkipping(rawValue: value) else { return nil }
                    options.scans = scans
                } else if argument == "--save-dir" {
                    options.saveDir = value
                } else {
                    guard let number = Int(value), number >= 0 else { return nil }
                    if argument == "--iterations" {
                        options.iterations = max(1, number)
                    } else {
                        options.warmup = number
                    }
                }
            default:
                if options.pipeline.isEmpty { options.pipeline = argument } else { options.images.append(argument) }
            }
        }
        return options.pipeline.isEmpty || options.images.isEmpty ? nil : options
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("rendition-bench: \(message)\n".utf8))
    exit(2)
}

/// CPU seconds (user + system) the whole process has used so far, every thread.
func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

guard let options = Options.parse(Array(CommandLine.arguments.dropFirst())) else {
    fail(
        "usage: rendition-bench PIPELINE.yaml IMAGE... [--iterations N] [--warmup N] [--save-dir DIR] [--scans none|unread|chroma]"
    )
}
let plan: PipelinePlan
switch PipelineLibrary.planFile(at: options.pipeline) {
case .success(let planned): plan = planned
case .failure(let problems): fail(problems.description)
}
// One render thread, as the issue asks: the in-process cost of one render, not the machine's throughput.
let renderer = try Renderer(threads: 1, scanSkipping: options.scans)
for path in options.images {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    let bytes = [UInt8](data)
    for _ in 0..<options.warmup { _ = try await renderer.render(plan, input: bytes) }
    var last: RenderResult?
    let cpuStart = processCPUSeconds()
    let wallStart = ContinuousClock.now
    for _ in 0..<options.iterations { last = try await renderer.render(plan, input: bytes) }
    let wall = (ContinuousClock.now - wallStart).milliseconds / 1_000
    let cpu = processCPUSeconds() - cpuStart
    guard let result = last else { fail("no render") }
    var phases: [String: [Double]] = [:]
    var order: [String] = []
    for _ in 0..<options.iterations {
        for phase in try await renderer.profile(plan, input: bytes).report.phases {
            if phases[phase.name] == nil { order.append(phase.name) }
            phases[phase.name, default: []].append(phase.cpuMilliseconds)
        }
    }
    let phaseMedians = order.map { name -> [String: Any] in
        let values = phases[name, default: []].sorted()
        return ["name": name, "cpu_ms": values[values.count / 2]]
    }
    if let saveDir = options.saveDir {
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let target = URL(fileURLWithPath: saveDir).appendingPathComponent("\(name).\(result.fileExtension)")
        try Data(result.bytes).write(to: target)
    }
    let line: [String: Any] = [
        "image": path, "iterations": options.iterations,
        "cpu_per_image": cpu / Double(options.iterations), "wall_per_image": wall / Double(options.iterations),
        "shrink_on_load": result.report.shrinkOnLoad,
        "loaded": "\(result.report.loadedWidth)x\(result.report.loadedHeight)",
        "output": "\(result.width)x\(result.height)", "bytes": result.bytes.count, "phases": phaseMedians,
        "scans": options.scans.rawValue,
    ]
    let json = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
}
try await renderer.shutdown()
