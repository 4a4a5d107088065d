import HTTPServer
import Logging
import RunsDomain
import RunsEngine
import RunsStorage
import RunsWire

/// `POST /files`: reads the multipart body as it arrives and stores the `file` part in pieces,
/// reading the next bytes from the client only once the previous piece is stored, so an upload
/// of any size holds about one piece in memory.
///
/// `@unchecked Sendable`: its steps run one after another (each starts the next from a
/// completion), never two at once.
final class FileUpload: @unchecked Sendable {
    private let context: APIContext
    private let stream: HTTPBodyStream
    private let responder: HTTPResponder
    private let database: any Store
    private let log: Logger
    private let maxFileBytes: Int
    private var parser: MultipartParser
    private var part: MultipartPart?
    /// The form's other fields, by name.
    private var fields: [String: [UInt8]] = [:]
    private var file: (id: String, createdAt: Int, filename: String)?
    private var pending: [UInt8] = []
    private var stored = 0
    private var nextSeq = 0
    private var multipartFinished = false
    private var done = false

    /// The longest value of a field other than `file`.
    static let maxFieldBytes = 1024
    /// The fields besides `file`: `expires_after` as JSON, or as the SDKs send it, one field per key.
    static let fieldNames = ["purpose", "expires_after", "expires_after[anchor]", "expires_after[seconds]"]

    private init(context: APIContext, stream: HTTPBodyStream, responder: HTTPResponder, database: any Store, log: Logger,
                 maxFileBytes: Int, boundary: String) {
        self.context = context
        self.stream = stream
        self.responder = responder
        self.database = database
        self.log = log
        self.maxFileBytes = maxFileBytes
        parser = MultipartParser(boundary: boundary)
    }

    static func start(_ context: APIContext, _ stream: HTTPBodyStream, _ responder: HTTPResponder, database: any Store,
                      log: Logger, maxFileBytes: Int) {
        let boundary: String
        do {
            boundary = try MultipartParser.boundary(contentType: context.request.headers["content-type"])
        } catch {
            let message = "Uploads must be sent as multipart/form-data with a `file` and a `purpose` field: \(error.message)"
            return responder.send(ErrorResponses.response(for: APIError.invalid(message), requestID: responder.requestID, log: log))
        }
        FileUpload(context: context, stream: stream, responder: responder, database: database, log: log,
                   maxFileBytes: maxFileBytes, boundary: boundary).readNext()
    }

    static let missingFile = APIError.invalid("Missing required parameter: 'file'.", param: "file", code: "missing_required_parameter")

    static func emptyBody(_ responder: HTTPResponder, log: Logger) {
        responder.send(ErrorResponses.response(for: missingFile, requestID: responder.requestID, log: log))
    }

    private func readNext() {
        stream.read { [self] chunk in
            switch chunk {
            case .data(let bytes):
                process(parser.feed(bytes)[...])
            case .end:
                guard multipartFinished else {
                    return fail(APIError.invalid("The multipart body ended before its closing boundary."))
                }
                complete()
            case .failed(let status, let message):
                fail(status == 413 ? APIError(.tooLarge, Self.tooLarge(maxFileBytes)) : APIError.invalid(message))
            }
        }
    }

    /// Handles parser events in order; a stored piece or a new file row pauses it until written.
    private func process(_ events: ArraySlice<MultipartEvent>) {
        var events = events
        while let event = events.popFirst() {
            switch event {
            case .partStarted(let started):
                part = started
                if started.name == "file" {
                    guard file == nil else { return fail(APIError.invalid("Only one `file` may be uploaded at a time.", param: "file")) }
                    return beginFile(started, then: events)
                }
                guard Self.fieldNames.contains(started.name) else {
                    return fail(APIError.invalid("Unknown parameter: '\(started.name.prefix(64))'.", param: String(started.name.prefix(64)),
                                                 code: "unknown_parameter"))
                }
                fields[started.name] = []
            case .data(let bytes):
                switch part?.name {
                case "file":
                    pending.append(contentsOf: bytes)
                    guard stored + pending.count <= maxFileBytes else {
                        return fail(APIError(.tooLarge, Self.tooLarge(maxFileBytes), param: "file"))
                    }
                    if pending.count >= FileRepository.pieceBytes { return storePiece(then: events) }
                case let name?:
                    fields[name, default: []].append(contentsOf: bytes)
                    if (fields[name]?.count ?? 0) > Self.maxFieldBytes {
                        return fail(APIError.invalid("Invalid '\(name)': longer than \(Self.maxFieldBytes) bytes.", param: name))
                    }
                case nil:
                    break
                }
            case .partEnded:
                let ended = part
                part = nil
                if ended?.name == "file", !pending.isEmpty { return storePiece(then: events) }
            case .finished:
                multipartFinished = true
            case .failed(let error):
                return fail(APIError.invalid("The multipart body is malformed: \(error.message)"))
            }
        }
        readNext()
    }

    private func beginFile(_ part: MultipartPart, then events: ArraySlice<MultipartEvent>) {
        let filename = part.filename.flatMap { $0.isEmpty ? nil : String($0.prefix(1024)) } ?? "upload"
        let (id, createdAt) = context.services.ids.make(.file)
        let (project, now) = (context.project, context.services.clock.nowSeconds())
        file = (id, createdAt, filename)
        database.write({ db in
            try FileRepository(db, project: project).beginUpload(id: id, createdAt: createdAt, filename: filename, now: now)
        }, completion: { [self] result in
            if case .failure(let error) = result { return fail(error) }
            process(events)
        })
    }

    private func storePiece(then events: ArraySlice<MultipartEvent>) {
        guard let file else { return fail(APIError(.server, "An upload piece arrived before its file.")) }
        // Whole pieces only, so a download can be cut into the same pieces again.
        let data = Array(pending.prefix(FileRepository.pieceBytes))
        pending.removeFirst(data.count)
        let (seq, project, now) = (nextSeq, context.project, context.services.clock.nowSeconds())
        nextSeq += 1
        stored += data.count
        database.write({ db in
            try FileRepository(db, project: project).appendPiece(fileID: file.id, seq: seq, data: data, now: now)
        }, completion: { [self] result in
            if case .failure(let error) = result { return fail(error) }
            if pending.count >= FileRepository.pieceBytes || (part?.name != "file" && !pending.isEmpty) {
                return storePiece(then: events)
            }
            process(events)
        })
    }

    private func complete() {
        guard let file else { return fail(Self.missingFile) }
        guard let purposeBytes = fields["purpose"] else {
            return fail(APIError.invalid("Missing required parameter: 'purpose'.", param: "purpose", code: "missing_required_parameter"))
        }
        let purposeText = String(decoding: purposeBytes, as: UTF8.self)
        guard StoredFile.uploadPurposes.contains(purposeText) else {
            return fail(APIError.invalid(
                "Invalid value for 'purpose': '\(purposeText.prefix(64))'. Supported values are: \(StoredFile.uploadPurposes.map { "'\($0)'" }.joined(separator: ", ")).",
                param: "purpose", code: "invalid_value"))
        }
        let expirySeconds: Int?
        do {
            expirySeconds = try expiresAfter() ?? (purposeText == "batch" ? StoredFile.batchExpirySeconds : nil)
        } catch {
            return fail(error)
        }
        let (project, bytes) = (context.project, stored)
        let expiresAt = expirySeconds.map { file.createdAt + $0 }
        database.write({ db in
            try FileRepository(db, project: project).complete(fileID: file.id, filename: file.filename, purpose: purposeText,
                                                              bytes: bytes, expiresAt: expiresAt)
        }, completion: { [self] result in
            switch result {
            case .success(let stored?): answer(JSONResponse.make(stored.wire))
            case .success(nil): fail(APIError(.server, "The upload was removed before it completed."))
            case .failure(let error): fail(error)
            }
        })
    }

    /// `expires_after` (`{"anchor": "created_at", "seconds": 3600…2592000}`) in seconds, if given.
    private func expiresAfter() throws(APIError) -> Int? {
        var value: JSONValue
        if let json = fields["expires_after"] {
            do {
                value = try JSONValue.parse(json)
            } catch {
                throw APIError.invalid("Invalid 'expires_after': expected a JSON object.", param: "expires_after", code: "invalid_type")
            }
        } else if fields["expires_after[anchor]"] != nil || fields["expires_after[seconds]"] != nil {
            let seconds = fields["expires_after[seconds]"].map { String(decoding: $0, as: UTF8.self) } ?? ""
            value = ["anchor": JSONValue(fields["expires_after[anchor]"].map { String(decoding: $0, as: UTF8.self) }),
                     "seconds": Int(seconds).map { .integer($0) } ?? .string(seconds)]
        } else {
            return nil
        }
        let object = try RequestObject(value, path: "expires_after", allowed: ["anchor", "seconds"])
        try Validate.oneOf(try object.requiredString("anchor"), ["created_at"], param: "expires_after.anchor")
        guard let seconds = try object.integer("seconds", minimum: 3600, maximum: 2_592_000, nullable: false).value else {
            throw APIError.invalid("Missing required parameter: 'expires_after.seconds'.", param: "expires_after.seconds",
                                   code: "missing_required_parameter")
        }
        return seconds
    }

    private func fail(_ error: any Error) {
        if let file {
            let project = context.project
            database.write({ db in try FileRepository(db, project: project).abandon(fileID: file.id) }, completion: { _ in })
        }
        answer(ErrorResponses.response(for: error, requestID: responder.requestID, log: log))
    }

    private func answer(_ response: HTTPResponse) {
        guard !done else { return }
        done = true
        responder.send(response)
    }

    static func tooLarge(_ limit: Int) -> String {
        "The file is larger than this server's limit of \(limit) bytes (--max-file-bytes)."
    }
}
