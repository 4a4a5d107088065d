import FoundationEssentials
import RunsDomain
import RunsStorage

/// The `image_file` parts of a thread's messages as `data:` URLs, so a chat model sees the
/// image itself: chat servers cannot fetch files stored here.
enum ImageInputs {
    /// An image larger than this is described instead of sent (OpenAI's limit per image).
    static let maxImageBytes = 20 << 20
    /// All images of one request together.
    static let maxTotalBytes = 64 << 20

    /// File id → data URL, for the images that can be sent; the newest messages' images first
    /// when they do not all fit.
    static func load(_ messages: [Message], project: String, db: any SQLSession) throws -> [String: String] {
        var urls: [String: String] = [:]
        var total = 0
        let files = FileRepository(db, project: project)
        for message in messages.reversed() {
            for part in message.content where part["type"]?.stringValue == "image_file" {
                guard let id = part["image_file"]?["file_id"]?.stringValue, urls[id] == nil,
                      let file = try files.find(id), StoredFile.imagePurposes.contains(file.purpose),
                      ContentTypes.of(filename: file.filename).hasPrefix("image/"),
                      file.bytes <= maxImageBytes, total + file.bytes <= maxTotalBytes else { continue }
                var bytes: [UInt8] = []
                bytes.reserveCapacity(file.bytes)
                var seq = 0
                while bytes.count < file.bytes, let piece = try FileRepository.piece(db, fileID: id, seq: seq) {
                    bytes += piece
                    seq += 1
                }
                guard bytes.count == file.bytes else { continue }
                total += bytes.count
                urls[id] = "data:\(ContentTypes.of(filename: file.filename));base64," + Data(bytes).base64EncodedString()
            }
        }
        return urls
    }
}
