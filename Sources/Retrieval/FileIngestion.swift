import Dispatch
import FoundationEssentials
import ModelBackends
import RunsDomain
import RunsStorage
import Synchronization

/// Indexes one claimed file: its pieces are read one at a time from the database, turned into
/// text, chunked, and stored a batch per transaction, each of which checks the claim still holds.
struct FileIngestion {
    let pool: IngestionPool
    let claim: IngestionClaim
    let lost: LeaseFlag

    private var database: any Store { pool.database }

    /// Returns the bytes the file's chunks take.
    func run() async throws -> Int {
        let claim = claim
        let file = try await database.reading { db in
            try FileRepository(db, project: claim.project).find(claim.file)
        }
        guard let file else {
            throw IngestionFailure(code: "invalid_file", message: "The file was deleted before it could be indexed.")
        }
        guard let kind = TextKind(filename: file.filename) else {
            let ext = ContentTypes.fileExtension(file.filename)
            throw IngestionFailure(code: "unsupported_file",
                                   message: "Files of type \(ext.isEmpty ? "(no extension)" : "." + ext) cannot be searched; use text, Markdown, HTML, JSON, CSV, source code or PDF.")
        }
        try await database.writing { db in try ChunkRepository(db).delete(store: claim.store, file: claim.file) }
        var sink = ChunkSink(ingestion: self, chunker: Chunker(claim.chunking))
        switch kind {
        case .plain:
            try await forEachPiece(of: file) { try await sink.add($0) }
        case .html:
            var stripper = HTMLStripper()
            try await forEachPiece(of: file) { piece in
                var text: [UInt8] = []
                stripper.feed(piece, into: &text)
                try await sink.add(text)
            }
        case .pdf:
            try await pdfText(of: file) { try await sink.add($0) }
        }
        return try await sink.finish()
    }

    func forEachPiece(of file: StoredFile, _ body: ([UInt8]) async throws -> Void) async throws {
        var seq = 0
        var read = 0
        while read < file.bytes {
            try checkClaim()
            let current = seq
            let piece = try await database.reading { db in try FileRepository.piece(db, fileID: file.id, seq: current) }
            guard let piece, !piece.isEmpty else {
                throw IngestionFailure(code: "invalid_file", message: "The file's bytes are incomplete.")
            }
            try await body(piece)
            read += piece.count
            seq += 1
        }
    }

    /// Copies the PDF to a temporary folder, converts it, and streams the text file back.
    func pdfText(of file: StoredFile, _ body: ([UInt8]) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-pdf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pdf = folder.appendingPathComponent("input.pdf")
        do {
            let writer = try OpenFile.writing(pdf.path)
            try await forEachPiece(of: file) { try writer.write($0) }
        } catch let error as SystemError {
            throw IngestionFailure(code: "server_error", message: "The server could not write a temporary copy of the PDF: \(error)")
        }
        let timeout = pool.pdfTimeoutSeconds
        let text: URL
        do {
            text = try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(with: Result { try PDFText.convert(pdf: pdf, timeoutSeconds: timeout) })
                }
            }
        } catch let failure as PDFText.Failure {
            throw IngestionFailure(code: failure.code, message: failure.message)
        }
        let reader = try OpenFile.reading(text.path)
        while case let piece = try reader.read(upTo: FileRepository.pieceBytes), !piece.isEmpty {
            try checkClaim()
            try await body(piece)
        }
    }

    func checkClaim() throws {
        if lost.isLost || Task.isCancelled { throw LeaseLost() }
    }
}

/// Gathers chunks and stores them a batch at a time.
struct ChunkSink {
    let ingestion: FileIngestion
    var chunker: Chunker
    var pending: [Chunk] = []
    var usageBytes = 0

    init(ingestion: FileIngestion, chunker: Chunker) {
        self.ingestion = ingestion
        self.chunker = chunker
    }

    mutating func add(_ bytes: [UInt8]) async throws {
        chunker.feed(bytes, into: &pending)
        if pending.count >= IngestionPool.batchSize { try await flush() }
    }

    mutating func finish() async throws -> Int {
        chunker.finish(into: &pending)
        try await flush()
        return usageBytes
    }

    private mutating func flush() async throws {
        guard !pending.isEmpty else { return }
        try ingestion.checkClaim()
        var chunks = pending
        if let embeddings = ingestion.pool.embeddings {
            let vectors: [[Float]]
            do {
                vectors = try await embeddings.vectors(chunks.map(\.text))
            } catch {
                throw IngestionFailure(code: "server_error", message: "The embedding model could not embed this file: \((error as? BackendError)?.error.message ?? "\(error)")")
            }
            for index in chunks.indices { chunks[index].embedding = Embeddings.blob(vectors[index]) }
        }
        let (claim, node) = (ingestion.claim, ingestion.pool.node)
        let until = Int(ingestion.pool.clock.nowMilliseconds()) + IngestionPool.leaseMilliseconds
        pending = []
        let held = try await ingestion.pool.database.writing { [chunks] db in
            guard try IngestionQueue.renew(db, claim, node: node, until: until) else { return false }
            try ChunkRepository(db).insert(store: claim.store, file: claim.file, chunks)
            return true
        }
        guard held else { throw LeaseLost() }
        usageBytes += chunks.reduce(0) { $0 + $1.text.utf8.count }
    }
}
