import RunsDomain
import RunsStorage

/// A run's `tool_resources`: its assistant's, then its thread's.
enum RunToolResources {
    /// The ids under `tool_resources[tool][key]` of both, in order, each once.
    static func ids(run: Run, project: String, db: any SQLSession, tool: String, key: String) throws -> [String] {
        let assistant = try AssistantRepository(db, project: project).find(run.assistantID)
        let thread = try ThreadRepository(db, project: project).find(run.threadID)
        var ids: [String] = []
        for resources in [assistant?.toolResources, thread?.toolResources] {
            for id in resources?[tool]?[key]?.arrayValue ?? [] {
                if let id = id.stringValue, !ids.contains(id) { ids.append(id) }
            }
        }
        return ids
    }
}
