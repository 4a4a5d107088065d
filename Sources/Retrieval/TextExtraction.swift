import RunsDomain

/// How a file's bytes become text to index, chosen by its name as OpenAI did.
public enum TextKind: Sendable, Equatable {
    /// Plain text, Markdown, JSON, CSV, source code: indexed as written.
    case plain
    /// Markup, scripts and styles dropped; the common entities decoded.
    case html
    /// Through poppler's `pdftotext`.
    case pdf

    static let plainExtensions: Set<String> = [
        "txt", "text", "md", "markdown", "json", "jsonl", "csv", "tsv", "xml", "yaml", "yml", "log", "rst", "tex", "ini", "toml",
        "c", "h", "cc", "cpp", "cxx", "hpp", "cs", "go", "rs", "java", "kt", "scala", "swift", "py", "rb", "php", "pl", "js",
        "mjs", "ts", "tsx", "jsx", "sh", "bash", "sql", "css", "r", "lua", "m", "dart", "ex", "exs", "erl", "hs", "clj", "vue",
    ]

    public init?(filename: String) {
        let ext = ContentTypes.fileExtension(filename)
        if Self.plainExtensions.contains(ext) {
            self = .plain
        } else if ext == "html" || ext == "htm" {
            self = .html
        } else if ext == "pdf" {
            self = .pdf
        } else {
            return nil
        }
    }
}

/// Strips HTML to its text as the bytes stream through: tags become spaces (so words on either
/// side stay apart), `<script>` and `<style>` bodies and comments are dropped, and `&amp;`-style
/// entities are decoded. Bounded: an entity longer than 10 bytes is passed through unread.
public struct HTMLStripper {
    private enum State {
        case text
        case tag
        case entity
        /// Inside a script or style element, until its closing tag.
        case raw
    }

    private var state = State.text
    private var tagName: [UInt8] = []
    private var inTagName = false
    private var entity: [UInt8] = []
    private var rawEnd: [UInt8] = []
    private var rawMatched = 0

    public init() {}

    public mutating func feed(_ bytes: some Collection<UInt8>, into out: inout [UInt8]) {
        for byte in bytes {
            switch state {
            case .text:
                if byte == UInt8(ascii: "<") {
                    state = .tag
                    tagName = []
                    inTagName = true
                    out.append(32)
                } else if byte == UInt8(ascii: "&") {
                    state = .entity
                    entity = []
                } else {
                    out.append(byte)
                }
            case .tag:
                if byte == UInt8(ascii: ">") {
                    let name = String(decoding: tagName, as: UTF8.self).lowercased()
                    if name == "script" || name == "style" {
                        state = .raw
                        rawEnd = Array("</\(name)".utf8)
                        rawMatched = 0
                    } else {
                        state = .text
                    }
                } else if inTagName {
                    let isNameByte = byte != 32 && byte != UInt8(ascii: "/") && !(9...13).contains(byte)
                    if isNameByte || tagName.isEmpty && byte == UInt8(ascii: "/") {
                        if tagName.count < 16 { tagName.append(byte) }
                    } else {
                        inTagName = false
                    }
                }
            case .entity:
                if byte == UInt8(ascii: ";") {
                    out.append(contentsOf: Self.decode(entity))
                    state = .text
                } else if entity.count >= 10 || byte == 32 || byte == UInt8(ascii: "<") {
                    out.append(UInt8(ascii: "&"))
                    out.append(contentsOf: entity)
                    state = .text
                    feed(CollectionOfOne(byte), into: &out)
                } else {
                    entity.append(byte)
                }
            case .raw:
                let expected = rawEnd[rawMatched]
                let lowered = byte >= 65 && byte <= 90 ? byte + 32 : byte
                if lowered == expected {
                    rawMatched += 1
                    if rawMatched == rawEnd.count {
                        state = .tag
                        tagName = []
                        inTagName = false
                    }
                } else {
                    rawMatched = lowered == rawEnd[0] ? 1 : 0
                }
            }
        }
    }

    static func decode(_ name: [UInt8]) -> [UInt8] {
        let text = String(decoding: name, as: UTF8.self)
        switch text {
        case "amp": return [UInt8(ascii: "&")]
        case "lt": return [UInt8(ascii: "<")]
        case "gt": return [UInt8(ascii: ">")]
        case "quot": return [UInt8(ascii: "\"")]
        case "apos": return [UInt8(ascii: "'")]
        case "nbsp": return [32]
        default:
            if text.hasPrefix("#") {
                let digits = text.dropFirst()
                let value = digits.hasPrefix("x") || digits.hasPrefix("X") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits)
                if let value, let scalar = Unicode.Scalar(value) { return Array(String(Character(scalar)).utf8) }
            }
            return Array("&\(text);".utf8)
        }
    }
}
