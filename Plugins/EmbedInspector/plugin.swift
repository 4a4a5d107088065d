import Foundation
import PackagePlugin

/// Compiles the run inspector's page (`Inspector/` in the target's folder) into the target, so
/// `GET /ui` needs no files beside the binary and no build step of its own.
@main
struct EmbedInspector: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let directory = context.package.directoryURL.appending(path: "Sources").appending(path: target.name)
            .appending(path: "Inspector")
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { ["html", "js", "css"].contains($0.pathExtension) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedInspector.swift")
        return [
            .buildCommand(
                displayName: "Embedding the inspector's \(files.count) files",
                executable: try context.tool(named: "TextEmbedder").url,
                arguments: [output.path, "embeddedInspectorFiles"] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]
            ),
        ]
    }
}
