import Foundation
import RenditionService
import Testing

@Suite struct StudioConfigurationTests {
    @Test func theEmbeddedDefaultServesTheStudio() throws {
        #expect(try RenditionConfiguration.load(file: nil, environment: [:]).studio)
        // Not a setting: logging alone does not make a production configuration.
        #expect(try RenditionConfiguration.load(file: nil, environment: ["RENDITION_LOG_LEVEL": "debug"]).studio)
    }

    @Test func anyConfigurationTurnsItOffUnlessItAsks() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rendition-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try "server:\n  port: 9000\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(try !RenditionConfiguration.load(file: file.path, environment: [:]).studio)
        #expect(try !RenditionConfiguration.load(file: nil, environment: ["RENDITION_PORT": "9000"]).studio)
        #expect(
            try RenditionConfiguration.load(file: file.path, environment: ["RENDITION_STUDIO": "true"]).studio)
        try "server:\n  studio: true\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(try RenditionConfiguration.load(file: file.path, environment: [:]).studio)
        #expect(try !RenditionConfiguration.load(file: nil, environment: ["RENDITION_STUDIO": "false"]).studio)
        let bad = #expect(throws: ConfigurationError.self) {
            try RenditionConfiguration.load(file: nil, environment: ["RENDITION_STUDIO": "maybe"])
        }
        #expect(bad?.description.contains("RENDITION_STUDIO: expected true or false") == true)
    }
}
