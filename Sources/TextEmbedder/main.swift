import Foundation

// Usage: TextEmbedder OUTPUT.swift VARIABLE FILE...
// Writes the files as a Swift array named VARIABLE of (folder, file name, text) in the order
// given; the folder is the name of the one a file is in (`Migrations/sqlite/0001_x.sql`: sqlite).
let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: TextEmbedder OUTPUT VARIABLE FILE...\n".utf8))
    exit(2)
}

var source = "// Generated at build time from the files named below. Do not edit.\n"
source += "let \(arguments[1]): [(folder: String, name: String, text: String)] = [\n"
for path in arguments.dropFirst(2) {
    let url = URL(fileURLWithPath: path)
    let text = try String(contentsOf: url, encoding: .utf8)
    // A raw string with enough #s that no sequence inside the text can end it.
    var hashes = "#"
    while text.contains("\"" + hashes) { hashes += "#" }
    let folder = url.deletingLastPathComponent().lastPathComponent
    source += "    (folder: \"\(folder)\", name: \"\(url.lastPathComponent)\", text: \(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)),\n"
}
source += "]\n"
try source.write(to: URL(fileURLWithPath: arguments[0]), atomically: true, encoding: .utf8)
