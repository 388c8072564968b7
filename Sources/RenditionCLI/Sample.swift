import ArgumentParser
import RenditionCore

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a generated sample photo (2400×1600, stored sideways with EXIF orientation 6).",
        discussion: "Upright, its red square is top-left and its blue square top-right: renditions show it."
    )

    @Argument(help: "Where to write the JPEG.")
    var output: String = "sample.jpg"

    func run() throws {
        try writeBytes(try SampleImage.jpeg(), to: output)
        print("wrote \(output)")
    }
}
