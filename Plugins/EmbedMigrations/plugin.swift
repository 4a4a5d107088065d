import Foundation
import PackagePlugin

/// Compiles every `Migrations/<dialect>/*.sql` file into the target, so the binary finds its schema
/// wherever it runs from (a container, another working directory) without shipping files beside it.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let directory = context.package.directoryURL.appending(path: "Migrations")
        let files = try ["sqlite", "postgresql"].flatMap { dialect in
            try FileManager.default
                .contentsOfDirectory(at: directory.appending(path: dialect), includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "sql" }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) SQL migrations",
                executable: try context.tool(named: "TextEmbedder").url,
                arguments: [output.path, "embeddedMigrationFiles"] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]
            ),
        ]
    }
}
