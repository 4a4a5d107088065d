/// The media type a stored file is served with, from its name: the type a client sent with an
/// upload is not kept, and the name is what OpenAI went by too.
public enum ContentTypes {
    static let byExtension: [String: String] = [
        "txt": "text/plain", "md": "text/markdown", "markdown": "text/markdown", "html": "text/html",
        "htm": "text/html", "json": "application/json", "jsonl": "application/jsonl", "csv": "text/csv",
        "pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
        "webp": "image/webp", "xml": "application/xml",
    ]

    public static func of(filename: String) -> String {
        byExtension[fileExtension(filename)] ?? "application/octet-stream"
    }

    /// The lowercased text after the last dot, or "".
    public static func fileExtension(_ filename: String) -> String {
        guard let dot = filename.lastIndex(of: ".") else { return "" }
        return filename[filename.index(after: dot)...].lowercased()
    }
}
