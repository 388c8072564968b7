import Foundation

/// The two ways a fuzz target runs.
///
/// Built by `make fuzz` (with `-DFUZZING`, sanitizer coverage and libFuzzer's `fuzzer_no_main` runtime
/// linked), `run` hands the check to libFuzzer's driver, which takes libFuzzer's usual arguments. In the
/// ordinary build it replays the files named on the command line (the regression corpus in
/// `Fuzz/regressions/`, run by the test suite), exiting non-zero through the check's trap if one fails.
public enum FuzzEntry {
    nonisolated(unsafe) static var check: ([UInt8]) -> Void = { _ in }

    public static func run(_ check: @escaping ([UInt8]) -> Void) -> Never {
        FuzzEntry.check = check
        #if FUZZING
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(
                LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                    FuzzEntry.check(Array(UnsafeBufferPointer(start: data, count: size)))
                    return 0
                })
        #else
            var count = 0
            for path in CommandLine.arguments.dropFirst() {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                    FileHandle.standardError.write(Data("no such file: \(path)\n".utf8))
                    exit(2)
                }
                let files =
                    isFolder.boolValue
                    ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map {
                        "\(path)/\($0)"
                    }
                    : [path]
                for file in files {
                    guard let data = FileManager.default.contents(atPath: file) else { continue }
                    check([UInt8](data))
                    count += 1
                }
            }
            print("replayed \(count) inputs")
            exit(0)
        #endif
    }
}

#if FUZZING
    /// libFuzzer's entry for programs that keep their own `main` (from `libclang_rt.fuzzer_no_main`).
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt
#endif
