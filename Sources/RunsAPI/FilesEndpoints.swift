import HTTPServer
import Logging
import RunsDomain
import RunsEngine
import RunsStorage
import RunsWire

enum FilesEndpoints {
    static func register(in router: inout Router<Route>, database: any Store, log: Logger, maxFileBytes: Int) {
        // The multipart framing around the file is allowed on top of the file's own limit.
        router.add("POST", "/files", .upload(maxBytes: maxFileBytes + 1 << 20) { context, stream, responder in
            FileUpload.start(context, stream, responder, database: database, log: log, maxFileBytes: maxFileBytes)
        })
        router.add("GET", "/files", .read(list))
        router.add("GET", "/files/:file_id", .read(retrieve))
        router.add("DELETE", "/files/:file_id", .write(delete))
        router.add("GET", "/files/:file_id/content", .custom { context, responder in
            FileDownload.start(context, responder, database: database, log: log)
        })
    }

    static func list(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let query = try context.listQuery(maxLimit: 10_000, defaultLimit: 10_000)
        let purpose = context.query("purpose").flatMap { $0.isEmpty ? nil : $0 }
        let page = try FileRepository(db, project: context.project).list(purpose: purpose, query)
        return Wire.list(page, \.wire, id: \.id)
    }

    static func retrieve(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        try existing(context, db).wire
    }

    static func delete(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let id = context.parameter("file_id")
        guard try FileRepository(db, project: context.project).delete(id) else { throw APIError.notFound("file", id) }
        return Wire.deleted(id, object: "file")
    }

    static func existing(_ context: APIContext, _ db: any SQLSession, id: String? = nil) throws -> StoredFile {
        let id = id ?? context.parameter("file_id")
        guard let file = try FileRepository(db, project: context.project).find(id) else { throw APIError.notFound("file", id) }
        return file
    }
}

/// `GET /files/{id}/content`: the bytes with a Content-Length, read from the database a piece at a
/// time and only once the client has taken the previous one.
enum FileDownload {
    static func start(_ context: APIContext, _ responder: HTTPResponder, database: any Store, log: Logger) {
        database.read({ db in try FilesEndpoints.existing(context, db) }, completion: { result in
            switch result {
            case .failure(let error):
                responder.send(ErrorResponses.response(for: error, requestID: responder.requestID, log: log))
            case .success(let file):
                var headers = HTTPHeaders()
                headers.add("content-type", ContentTypes.of(filename: file.filename))
                headers.add("content-disposition", "attachment; filename=\"\(file.filename.filter { $0 != "\"" && $0 != "\\" && !$0.isNewline })\"")
                let writer = responder.startStream(status: 200, headers: headers, contentLength: file.bytes)
                // A HEAD answer is its head: nothing is read for it.
                if context.request.method == "HEAD" { return writer.finish() }
                send(file, seq: 0, sent: 0, writer: writer, database: database, log: log)
            }
        })
    }

    private static func send(_ file: StoredFile, seq: Int, sent: Int, writer: HTTPStreamWriter, database: any Store, log: Logger) {
        guard sent < file.bytes else { return writer.finish() }
        guard writer.isOpen else { return }
        database.read({ db in try FileRepository.piece(db, fileID: file.id, seq: seq) }, completion: { result in
            guard case .success(let piece?) = result, !piece.isEmpty, sent + piece.count <= file.bytes else {
                // Deleted (or unreadable) mid-download: the declared length cannot be met.
                log.warning("download of \(file.id) cut off at byte \(sent): \((try? result.get()) == nil ? "read failed" : "piece missing")")
                return writer.abort()
            }
            writer.write(piece) {
                send(file, seq: seq + 1, sent: sent + piece.count, writer: writer, database: database, log: log)
            }
        })
    }
}
