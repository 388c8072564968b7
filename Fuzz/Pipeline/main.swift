import Foundation
import FuzzDriver
import RenditionCatalog
import RenditionCore
import Vips

/// libFuzzer target: arbitrary bytes as a pipeline file, planned, then the plan's geometry predicted for a
/// few input sizes derived from the same bytes. Any crash, trap or sanitizer report is a finding; refusals
/// with problems are the expected outcome for almost every input.
func check(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    switch PipelineLibrary.planText(text, name: "fuzz", source: "fuzz.yaml") {
    case .failure(let problems):
        precondition(!problems.problems.isEmpty, "a failed plan names at least one problem")
        for problem in problems.problems {
            precondition(problem.location.line >= 1 && problem.location.column >= 1, "locations are 1-based")
        }
    case .success(let plan):
        precondition(plan.fingerprint.count == 64, "fingerprints are SHA-256 hex")
        let seed = bytes.reduce(UInt64(1469598103934665603)) { ($0 ^ UInt64($1)) &* 1099511628211 }
        for (index, format) in InputFormat.allCases.enumerated() {
            let width = 1 + Int((seed >> UInt64(index * 5)) % 70_000)
            let height = 1 + Int((seed >> UInt64(index * 7 + 3)) % 70_000)
            let orientation = 1 + Int((seed >> UInt64(index + 40)) % 8)
            let input = InputInfo(
                format: format, width: width, height: height, orientation: orientation, pages: 1, byteCount: 1)
            let (steps, shrink) = plan.predict(for: input)
            precondition(shrink >= 1, "shrink-on-load is at least 1")
            for step in steps { precondition(step.width >= 1 && step.height >= 1, "no empty image is planned") }
        }
    }
}

FuzzEntry.run(check)
