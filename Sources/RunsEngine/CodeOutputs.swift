import CodeInterpreter
import FoundationEssentials
import RunsDomain
import RunsStorage

/// What a code call left behind, made into what the run shows: its logs, its figures and the
/// files it wrote stored as Files (`assistants_output`), and the text the model is handed.
enum CodeOutputs {
    static let purpose = "assistants_output"

    /// The call as the step records it: the code, its logs, its figures as Files, and the Files
    /// made of what it wrote.
    static func store(_ call: CodeCall, code: String, project: String, engine: RunEngine) async throws -> CodeInterpreterCall {
        let result = call.result
        var outputs: [CodeOutput] = []
        let logs = shownLogs(result)
        if !logs.isEmpty { outputs.append(.logs(logs)) }
        for (index, figure) in result.figures.enumerated() {
            if let id = try await storeFile(call, relative: figure, filename: "figure-\(index + 1).png", project: project, engine: engine) {
                outputs.append(.image(fileID: id))
            }
        }
        var files: [String: String] = [:]
        for relative in call.outputs {
            let name = relative.split(separator: "/").last.map(String.init) ?? relative
            if let id = try await storeFile(call, relative: relative, filename: name, project: project, engine: engine) {
                files[call.dataPath + "/" + relative] = id
                if call.dataPath != SandboxLaunchPaths.mountPoint { files[SandboxLaunchPaths.mountPoint + "/" + relative] = id }
            }
        }
        return CodeInterpreterCall(input: code, outputs: outputs, files: files)
    }

    /// What the code printed, said to be cut where it was, then the error it ended with (when
    /// the printed traceback does not already hold it, or the session was reset).
    static func shownLogs(_ result: CodeResult) -> String {
        var logs = result.logs
        if result.truncated { logs += "\n[output cut at \(result.logs.utf8.count) bytes]" }
        if let error = result.error, !logs.contains(error) { logs += (logs.isEmpty || logs.hasSuffix("\n") ? "" : "\n") + error }
        return logs
    }

    /// What the model reads back: the logs, then the files written, by the path to link them with.
    static func summary(_ call: CodeCall, files: [String: String]) -> String {
        var lines: [String] = []
        let logs = shownLogs(call.result)
        if !logs.isEmpty { lines.append(logs.hasSuffix("\n") ? String(logs.dropLast()) : logs) }
        if !call.result.figures.isEmpty { lines.append("[\(call.result.figures.count) figure(s) shown to the user]") }
        for relative in call.outputs where files[call.dataPath + "/" + relative] != nil {
            // The path the answer links with, whatever the level (both are mapped to the File).
            lines.append("sandbox:\(SandboxLaunchPaths.mountPoint)/\(relative)")
        }
        return lines.isEmpty ? "(no output)" : lines.joined(separator: "\n")
    }

    /// Copies a file of the session folder into a new File, a piece per transaction.
    private static func storeFile(_ call: CodeCall, relative: String, filename: String, project: String, engine: RunEngine) async throws -> String? {
        guard let file = call.open(relative) else { return nil }
        let (id, created) = engine.ids.make(.file)
        let now = engine.clock.nowSeconds()
        try await engine.database.writing { db in
            try FileRepository(db, project: project).beginUpload(id: id, createdAt: created, filename: filename, now: now)
        }
        var seq = 0, bytes = 0
        while case let piece = try file.read(upTo: FileRepository.pieceBytes), !piece.isEmpty {
            let current = seq
            bytes += piece.count
            guard bytes <= CodeInterpreterTool.maxOutputBytes else {
                _ = try? await engine.database.writing { db in try FileRepository(db, project: project).abandon(fileID: id) }
                return nil
            }
            try await engine.database.writing { db in
                try FileRepository(db, project: project).appendPiece(fileID: id, seq: current, data: piece, now: now)
            }
            seq += 1
        }
        let total = bytes
        _ = try await engine.database.writing { db in
            try FileRepository(db, project: project).complete(fileID: id, filename: filename, purpose: purpose, bytes: total)
        }
        return id
    }
}
