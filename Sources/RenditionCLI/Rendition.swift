import ArgumentParser

/// `rendition`: the command-line front of Rendition.
@main
struct Rendition: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rendition",
        abstract: "Image renditions from declarative pipeline files.",
        discussion: """
            Presets live in pipelines/<name>.yaml. Check them with `rendition validate`, see what one does \
            with `rendition plan NAME --input photo.jpg`, render files with `rendition run NAME photo.jpg`, and see every preset on sample images with \
            `rendition preview`.
            """,
        subcommands: [
            Serve.self, Purge.self, Validate.self, Plan.self, Run.self, Srcset.self, Preview.self, Stages.self,
            Schema.self, Sample.self,
        ]
    )
}
