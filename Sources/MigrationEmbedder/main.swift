import Foundation

// Usage: MigrationEmbedder OUTPUT.swift FILE.sql...
// Writes the files as a Swift array of (file name, SQL text) in the order given.
let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: MigrationEmbedder OUTPUT FILE...\n".utf8))
    exit(2)
}

var source = "// Generated from Migrations/*.sql at build time. Do not edit.\n"
source += "let embeddedMigrationFiles: [(name: String, sql: String)] = [\n"
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    let sql = try String(contentsOf: url, encoding: .utf8)
    // A raw string with enough #s that no sequence inside the SQL can end it.
    var hashes = "#"
    while sql.contains("\"" + hashes) { hashes += "#" }
    source += "    (name: \"\(url.lastPathComponent)\", sql: \(hashes)\"\"\"\n\(sql)\n\"\"\"\(hashes)),\n"
}
source += "]\n"
try source.write(to: URL(fileURLWithPath: output), atomically: true, encoding: .utf8)
