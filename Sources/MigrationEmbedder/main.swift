import Foundation

// Usage: MigrationEmbedder OUTPUT.swift FILE.sql...
// Writes the files as a Swift array of (dialect, file name, SQL text) in the order given; the
// dialect is the name of the folder a file is in (`Migrations/sqlite/0001_x.sql`).
let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: MigrationEmbedder OUTPUT FILE...\n".utf8))
    exit(2)
}

var source = "// Generated from Migrations/*.sql at build time. Do not edit.\n"
source += "let embeddedMigrationFiles: [(dialect: String, name: String, sql: String)] = [\n"
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    let sql = try String(contentsOf: url, encoding: .utf8)
    // A raw string with enough #s that no sequence inside the SQL can end it.
    var hashes = "#"
    while sql.contains("\"" + hashes) { hashes += "#" }
    let dialect = url.deletingLastPathComponent().lastPathComponent
    source += "    (dialect: \"\(dialect)\", name: \"\(url.lastPathComponent)\", sql: \(hashes)\"\"\"\n\(sql)\n\"\"\"\(hashes)),\n"
}
source += "]\n"
try source.write(to: URL(fileURLWithPath: output), atomically: true, encoding: .utf8)
