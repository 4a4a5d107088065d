import Retrieval
import RunsDomain
import RunsStorage

/// The `file_search` tool as Runnel runs it: the model is offered a function of that name, and
/// its calls are searched here, against the run's vector stores, instead of going to the client.
enum FileSearchTool {
    static let name = "file_search"
    /// Rounds of searching within one turn before the model is made to answer.
    static let maxRounds = 8

    static func isOffered(in run: Run) -> Bool {
        run.tools.contains { $0["type"]?.stringValue == "file_search" }
    }

    /// The function a chat model sees; its description asks for citations in the form the
    /// results are labelled with.
    static let definition: JSONValue = [
        "type": "function",
        "function": [
            "name": "file_search",
            "description": """
                Search the files available to you and get back the most relevant passages. Each passage starts with a \
                marker such as 【0:1†report.pdf】; when your answer uses a passage, put its marker right after the \
                statement it supports.
                """,
            "parameters": [
                "type": "object",
                "properties": ["query": ["type": "string", "description": "What to look for."]],
                "required": ["query"],
            ],
        ],
    ]

    /// The vector stores a run searches: its assistant's and its thread's.
    static func stores(run: Run, project: String, db: any SQLSession) throws -> [String] {
        try RunToolResources.ids(run: run, project: project, db: db, tool: "file_search", key: "vector_store_ids")
    }

    /// Runs one call and fills in its results and the text the model is handed.
    /// - Parameter ordinal: how many searches the run made before this one, the first number
    ///   of its results' markers.
    static func query(of call: StepToolCall) -> String {
        (try? JSONValue.parse(call.arguments))?["query"]?.stringValue ?? ""
    }

    static func execute(_ call: StepToolCall, run: Run, project: String, ordinal: Int, db: any SQLSession, now: Int,
                        embeddings: Embeddings? = nil, queryVector: [Float]? = nil) throws -> StepToolCall {
        let settings = run.tools.first { $0["type"]?.stringValue == "file_search" }?["file_search"]
        let maxResults = settings?["max_num_results"].flatMap { if case .integer(let n) = $0 { n } else { nil } } ?? 20
        let ranking = settings?["ranking_options"] ?? ["ranker": "auto", "score_threshold": 0.0]
        let threshold: Double = switch ranking["score_threshold"] {
        case .number(let value)?: value
        case .integer(let value)?: Double(value)
        default: 0
        }
        var call = call
        let query = query(of: call)
        guard !query.isEmpty else {
            call.fileSearch = FileSearchCall(rankingOptions: ranking, results: [])
            call.output = "The search needs a non-empty \"query\" string argument."
            return call
        }
        // An expired store is no longer searched, as on OpenAI.
        let repository = VectorStoreRepository(db, project: project)
        let stores = try Self.stores(run: run, project: project, db: db).filter { id in
            try repository.find(id).map { !$0.isExpired(now: now) } ?? false
        }
        let request = SearchRequest(queries: [query], maxResults: maxResults, scoreThreshold: threshold,
                                    queryVectors: queryVector.map { [$0] })
        let results = try FileSearch.search(db, project: project, stores: stores, request, embeddings: embeddings)
        try repository.touch(stores, now: now)
        call.fileSearch = FileSearchCall(rankingOptions: ranking, results: results.map {
            FileSearchHit(fileID: $0.fileID, fileName: $0.filename, score: $0.score, text: $0.text)
        })
        call.output = output(results, ordinal: ordinal)
        return call
    }

    /// One result per line, each led by its citation marker, whitespace folded so a line is a result.
    static func output(_ results: [SearchResult], ordinal: Int) -> String {
        guard !results.isEmpty else { return "No results found." }
        return results.enumerated().map { index, result in
            "\(marker(ordinal, index, result.filename)) " + result.text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        }.joined(separator: "\n")
    }

    static func marker(_ ordinal: Int, _ index: Int, _ filename: String) -> String {
        "【\(ordinal):\(index)†\(filename.replacingAll("】", with: ""))】"
    }

    /// Marker number ("ordinal:index") → file id, for every search of the run so far.
    static func citations(_ steps: [RunStep]) -> [String: String] {
        var map: [String: String] = [:]
        for (ordinal, search) in searches(in: steps).enumerated() {
            for (index, hit) in search.results.enumerated() { map["\(ordinal):\(index)"] = hit.fileID }
        }
        return map
    }

    /// The run's searches so far, in order: a search's position is the first number of its markers.
    static func searches(in steps: [RunStep]) -> [FileSearchCall] {
        steps.filter { $0.type == .toolCalls }.flatMap { $0.toolCalls.compactMap(\.fileSearch) }
    }

    /// `file_citation` annotations for the markers in `text` that name a result; indexes count
    /// characters (Unicode scalars), as the SDKs index strings.
    static func annotations(_ text: String, citations: [String: String]) -> [JSONValue] {
        guard !citations.isEmpty, text.contains("【") else { return [] }
        var annotations: [JSONValue] = []
        let scalars = Array(text.unicodeScalars)
        var index = 0
        while index < scalars.count {
            guard scalars[index] == "【" else {
                index += 1
                continue
            }
            guard let close = scalars[index...].prefix(300).firstIndex(of: "】") else { break }
            let inside = String(String.UnicodeScalarView(scalars[(index + 1)..<close]))
            let key = String(inside.prefix { $0 != "†" })
            if let fileID = citations[key] {
                annotations.append([
                    "type": "file_citation", "text": .string(String(String.UnicodeScalarView(scalars[index...close]))),
                    "file_citation": ["file_id": .string(fileID)], "start_index": .integer(index), "end_index": .integer(close + 1),
                ])
            }
            index = close + 1
        }
        return annotations
    }
}
