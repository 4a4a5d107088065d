import CodeInterpreter
import FoundationEssentials
import RunsDomain
import RunsStorage

/// The `code_interpreter` tool as Runnel runs it: the model is offered a function of that name
/// taking `{"code"}`, and each call runs in the thread's sandboxed Python session. What the code
/// printed goes back to the model; its figures and the files it wrote become Files
/// (`assistants_output`), shown as `image` outputs and `image_file` parts, and as `file_path`
/// annotations where the answer names them as `sandbox:/mnt/data/…`.
enum CodeInterpreterTool {
    static let name = "code_interpreter"
    /// At most this many files from `tool_resources` and attachments are put in a session.
    static let maxInputFiles = 20
    /// Output files larger than this are left in the session and named, not stored as Files.
    static let maxOutputBytes = 512 << 20

    static func isOffered(in run: Run) -> Bool {
        run.tools.contains { $0["type"]?.stringValue == "code_interpreter" }
    }

    /// - Parameter dataPath: where files are, as the code sees them; nil: the working directory.
    static func definition(inputs: [String], dataPath: String?) -> JSONValue {
        var description = """
            Run Python 3 code in a persistent session (variables and files stay between calls). numpy, pandas and \
            matplotlib are available; figures left open are shown to the user. There is no network. Files are read \
            from and written to \(dataPath ?? "the current directory"); to let the user download a file you wrote, \
            link it as sandbox:/mnt/data/NAME.
            """
        if !inputs.isEmpty { description += " Files given to you: " + inputs.joined(separator: ", ") + "." }
        return [
            "type": "function",
            "function": [
                "name": .string(name),
                "description": .string(description),
                "parameters": [
                    "type": "object",
                    "properties": ["code": ["type": "string", "description": "The Python code to run."]],
                    "required": ["code"],
                ],
            ],
        ]
    }

    static func code(of call: StepToolCall) -> String {
        (try? JSONValue.parse(call.arguments))?["code"]?.stringValue ?? ""
    }

    /// The files a run's code can read: the assistant's and the thread's
    /// `tool_resources.code_interpreter.file_ids`, and the thread's attachments for this tool.
    /// - Parameter messages: the thread's messages, as the round already read them.
    static func inputFiles(run: Run, messages: [Message], project: String, db: any SQLSession) throws -> [StoredFile] {
        var ids = try RunToolResources.ids(run: run, project: project, db: db, tool: "code_interpreter", key: "file_ids")
        for message in messages {
            for attachment in message.attachments.arrayValue ?? [] {
                let forCode = (attachment["tools"]?.arrayValue ?? []).contains { $0["type"]?.stringValue == "code_interpreter" }
                if forCode, let id = attachment["file_id"]?.stringValue, !ids.contains(id) { ids.append(id) }
            }
        }
        let files = FileRepository(db, project: project)
        return try ids.prefix(maxInputFiles).compactMap { try files.find($0) }
    }

    /// The paths the model is told: under `/mnt/data`, or bare names in the working directory.
    static func inputPaths(_ files: [StoredFile], dataPath: String?) -> [String] {
        files.map { (dataPath.map { $0 + "/" } ?? "") + SessionFolder.safeName($0.filename) }
    }

    /// Marker text → File id of every file the run's code wrote, for `file_path` annotations.
    static func files(in steps: [RunStep]) -> [String: String] {
        var files: [String: String] = [:]
        for step in steps {
            for call in step.toolCalls { call.codeInterpreter?.files.forEach { files["sandbox:" + $0.key] = $0.value } }
        }
        return files
    }

    /// The figures of the run's code calls made since its last message: the next message shows them.
    static func pendingImages(in steps: [RunStep]) -> [String] {
        var images: [String] = []
        for step in steps.sorted(by: { $0.createdAt < $1.createdAt }) {
            if step.type == .messageCreation { images = [] }
            for call in step.toolCalls { images += call.codeInterpreter?.images ?? [] }
        }
        return images
    }

    /// `file_path` annotations for each `sandbox:` path of a file the run's code wrote.
    static func annotations(_ text: String, files: [String: String]) -> [JSONValue] {
        guard !files.isEmpty, text.contains("sandbox:") else { return [] }
        let scalars = Array(text.unicodeScalars)
        var annotations: [JSONValue] = []
        var index = 0
        // Longest paths first, so "a.csv.gz" is not taken for "a.csv".
        let markers = files.keys.sorted { $0.count > $1.count }.map { (Array($0.unicodeScalars), $0) }
        while index < scalars.count {
            guard scalars[index] == "s",
                  let (marker, key) = markers.first(where: { index + $0.0.count <= scalars.count && scalars[index..<(index + $0.0.count)].elementsEqual($0.0) }) else {
                index += 1
                continue
            }
            annotations.append([
                "type": "file_path", "text": .string(key), "file_path": ["file_id": .string(files[key]!)],
                "start_index": .integer(index), "end_index": .integer(index + marker.count),
            ])
            index += marker.count
        }
        return annotations
    }
}
